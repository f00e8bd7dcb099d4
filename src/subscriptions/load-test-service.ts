import { HubError, ValidationError } from '../core/errors';
import { newId } from '../core/ids';
import type { Page } from '../core/page';
import type { SecretBox } from '../core/secret-box';
import type { HttpSender } from '../transport/http-sender';
import { runLoadTest } from '../transport/loadtest/engine';
import type { LoadTestRecord, LoadTestStore } from './load-tests';
import { activeSecrets, signingSecrets } from './secrets';
import type { SubscriptionService } from './subscription-service';

export const LOADTEST_MAX_SECONDS = 60;

/**
 * Load tests of a tenant's own webhook endpoint, run by the hub: signed sample events at a fixed
 * rate through the hub's HTTP sender (so its network guard and the subscription's allowedIps
 * apply), the result stored and listed. One test at a time per subscription.
 */
export class LoadTestService {
  private readonly running = new Set<string>();

  constructor(
    private readonly subscriptions: SubscriptionService,
    private readonly store: LoadTestStore,
    private readonly sender: HttpSender,
    private readonly secretBox: SecretBox,
    private readonly maxRate: number,
  ) {}

  async run(tenantId: string, subscriptionId: string, input: Record<string, unknown>): Promise<LoadTestRecord> {
    const { rate, seconds } = this.parse(input);
    // A webhook subscription of this tenant, or 404.
    const found = await this.subscriptions.get(tenantId, subscriptionId);
    if (this.running.has(found.id)) {
      throw new HubError('loadtest_running', `A load test of subscription ${found.id} is running; wait for its result (GET /v1/subscriptions/${found.id}/loadtests).`, { status: 409 });
    }
    this.running.add(found.id);
    try {
      const subscription = this.subscriptions.forSending(found);
      const allowedIps = subscription.allowedIps ?? [];
      const result = await runLoadTest({
        url: subscription.endpointUrl,
        secrets: activeSecrets(signingSecrets(subscription, this.secretBox)),
        stages: [{ rate, seconds }],
        send: (url, headers, body) => this.sender.send(url, { ...subscription.headers, ...headers }, body, 'POST', allowedIps.length > 0 ? { allowedIps } : undefined),
      });
      const record: LoadTestRecord = { id: newId('lt'), tenantId, subscriptionId: found.id, rate, seconds, createdAt: new Date(), result };
      await this.store.insertLoadTest(record);
      return record;
    } finally {
      this.running.delete(found.id);
    }
  }

  async list(tenantId: string, subscriptionId: string, limit: number, cursor: string | undefined): Promise<Page<LoadTestRecord>> {
    await this.subscriptions.get(tenantId, subscriptionId);
    return this.store.listLoadTests(tenantId, subscriptionId, { limit, cursor });
  }

  private parse(input: Record<string, unknown>): { rate: number; seconds: number } {
    const problems: Array<{ path: string; message: string }> = [];
    const whole = (name: string, max: number): number => {
      const value = input[name];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) problems.push({ path: `/${name}`, message: `must be a whole number from 1 to ${max}` });
      return value as number;
    };
    const rate = whole('rate', this.maxRate);
    const seconds = whole('seconds', LOADTEST_MAX_SECONDS);
    if (problems.length > 0) {
      throw new ValidationError(`Give {rate, seconds}: rate in requests a second (at most ${this.maxRate}, HOOKHUB_LOADTEST_MAX_RATE) and seconds (at most ${LOADTEST_MAX_SECONDS}).`, problems);
    }
    return { rate, seconds };
  }
}
