export { ALL_SERVICES } from './all-services';
