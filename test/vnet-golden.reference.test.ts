import { createReferenceBackend } from '../src/backend/reference/index.js';
import { describeVnetGolden } from './support/vnet-golden-suite.js';

describeVnetGolden('reference', async () => createReferenceBackend());
