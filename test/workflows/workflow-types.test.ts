/**
 * CAPSULE_WORKFLOW_TYPES names every workflow Capsule's workers register: a user's bundle re-exports exactly these
 * after the user's own (client/workflow-bundle.ts), and an unknown type's error lists them. A workflow added to
 * src/workflows/index.ts and not to the list would be missing from every worker that runs a user's workflows.
 */
import { expect, it } from 'vitest';
import * as workflows from '../../src/workflows/index.js';
import { CAPSULE_WORKFLOW_TYPES } from '../../src/workflows/shared.js';

it("lists exactly the workflows src/workflows/index.ts exports", () => {
  expect([...CAPSULE_WORKFLOW_TYPES].sort()).toEqual(Object.keys(workflows).sort());
});
