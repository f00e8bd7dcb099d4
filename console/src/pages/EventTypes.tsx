import { Empty, ErrorNote, JsonView, PageHeader, useLoad } from '../components/ui';
import { eventTypes } from '../eventTypes';
import { sampleFor } from '../schema';

export default function EventTypes() {
  const loaded = useLoad(eventTypes, []);
  return (
    <>
      <PageHeader title="Event types" />
      <ErrorNote error={loaded.error} />
      {loaded.data?.length === 0 && <Empty>The hub has no event types.</Empty>}
      {(loaded.data ?? []).map((t) => (
        <section key={t.type} aria-labelledby={`et-${t.type}`}>
          <h2 id={`et-${t.type}`}>{t.type}</h2>
          <p>
            {t.description} <span className="muted">({t.source})</span>
          </p>
          <details>
            <summary>Sample data</summary>
            <JsonView value={sampleFor(t.schema, 'data')} label={`Sample data of ${t.type}`} />
          </details>
          <details>
            <summary>Schema</summary>
            <JsonView value={t.schema} label={`Schema of ${t.type}`} />
          </details>
        </section>
      ))}
    </>
  );
}
