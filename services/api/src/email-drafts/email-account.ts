import { findSender, type Executor } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';

/**
 * Checks that `accountId` is an email account of the organization that can send: 404
 * `not_found` when it is not one of the organization's senders; 422 `unprocessable` when it
 * is another channel's, a receiving account, or has no address to send from. Its status is not
 * checked: a draft sends nothing, and a stopped account may work again by then.
 */
export async function checkEmailAccount(
  db: Executor,
  organizationId: string,
  accountId: string,
): Promise<void> {
  const account = await findSender(db, organizationId, accountId);
  if (account === undefined) {
    throw AppError.of('not_found', `email account ${accountId} not found`, {
      from_account_id: accountId,
    });
  }
  const problem =
    account.channel !== 'email'
      ? `sender ${accountId} is a ${account.channel} sender, not an email account`
      : account.role !== 'sending'
        ? `email account ${accountId} is a receiving account and cannot send`
        : account.address === null
          ? `email account ${accountId} has no address to send from`
          : undefined;
  if (problem !== undefined) {
    throw AppError.of('unprocessable', problem, {
      from_account_id: accountId,
      channel: account.channel,
      role: account.role,
    });
  }
}
