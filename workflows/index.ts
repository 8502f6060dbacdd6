// The workflows this worker registers. Workflow type names are the function names.
export { docusignConnection } from './connection';
