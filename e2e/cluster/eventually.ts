/** Polling for the cluster tier: lib/testing/eventually.ts. */
export { eventually } from '../../lib/testing/eventually.ts';
