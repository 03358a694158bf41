import { task } from 'capsule';

/** Stands in for the irreversible step (a deploy, a payment): it only runs once a person approved. */
export const main = task({ name: 'main', compute: 'LOW', timeout: '5s' }, (input: { result: unknown; approvedBy: string | null }) => ({
  shipped: true,
  result: input.result,
  approvedBy: input.approvedBy,
}));

/** What runs instead when the result was rejected. */
export const rejected = task({ name: 'rejected', compute: 'LOW', timeout: '5s' }, (input: { comment: string | null }) => ({
  shipped: false,
  comment: input.comment,
}));
