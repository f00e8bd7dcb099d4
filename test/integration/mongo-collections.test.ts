import { MongoClient } from 'mongodb';
import { createMongoStore } from '../../src/store/mongo/mongo-store';
import { mongoUrlFor, uniqueName } from '../support/services';

/**
 * The MongoDB store makes every collection it writes, with its indexes, when it starts: a first write
 * under load never creates one (on the database and on every process starting beside busy ones).
 */
describe('MongoDB store start', () => {
  const name = uniqueName('hhcolls');
  const url = mongoUrlFor(name);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  afterAll(async () => {
    await client.db().dropDatabase();
    await client.close();
  });

  const collections = async (): Promise<string[]> => (await client.db().listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();

  it('has made every collection and index before it takes work, and a second start beside the first changes nothing', async () => {
    const store = createMongoStore({ url });
    await store.connect();
    const models = Object.values(store.database.models);
    const expected = models.map((m) => m.collection.collectionName).sort();
    expect(expected.length).toBeGreaterThan(25);
    // Nothing has been written: every collection is there all the same.
    expect(await collections()).toEqual(expected);
    const indexesOf = async (): Promise<Record<string, string[]>> => {
      const out: Record<string, string[]> = {};
      for (const m of models) out[m.collection.collectionName] = (await client.db().collection(m.collection.collectionName).indexes()).map((i) => String(i.name)).sort();
      return out;
    };
    const first = await indexesOf();
    for (const m of models) {
      // Every index the schema declares exists (plus _id).
      const declared = m.schema.indexes().length;
      expect(first[m.collection.collectionName]).toHaveLength(declared + 1);
    }
    expect(first['delivery_attempts']!.length).toBeGreaterThan(1);

    const second = createMongoStore({ url });
    await second.connect();
    expect(await collections()).toEqual(expected);
    expect(await indexesOf()).toEqual(first);
    await second.close();
    await store.close();
  });
});
