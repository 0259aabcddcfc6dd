// The fault tests' name for the shared cuttable proxy (it passes half-closes through).
export { CuttableProxy as HalfCloseProxy } from '../helpers/faults';
