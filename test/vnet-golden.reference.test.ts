import { createReferenceBackend } from '../src/ops/reference/index.js';
import { describeVnetGolden } from './support/vnet-golden-suite.js';

describeVnetGolden('reference', async () => createReferenceBackend());
