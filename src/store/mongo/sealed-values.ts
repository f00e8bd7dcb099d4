import type { Model } from 'mongoose';
import type { SealedValue, SealedValues } from '../../secrets/sealed-values';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** Sealed values are the fields named *sealed (any case) of subscriptions, connections and OAuth states. */
export function mongoSealedValues(db: MongoDatabase): SealedValues {
  const collections = (): Record<SealedValue['collection'], Model<Doc>> => ({
    subscriptions: db.models.subscriptions,
    connections: db.models.connections,
    oauth_states: db.models.oauthStates,
  });
  return {
    async *scanSealed() {
      for (const [collection, model] of Object.entries(collections()) as Array<[SealedValue['collection'], Model<Doc>]>) {
        for await (const doc of model.collection.find({}, { batchSize: 500 })) {
          for (const [field, value] of Object.entries(doc)) {
            if (/sealed$/i.test(field) && typeof value === 'string' && value !== '') yield { collection, id: String(doc['_id']), field, value };
          }
        }
      }
    },

    async replaceSealed(found, value) {
      const model = collections()[found.collection];
      const result = await model.collection.updateOne({ _id: found.id as never, [found.field]: found.value }, { $set: { [found.field]: value } });
      return result.modifiedCount === 1;
    },
  };
}
