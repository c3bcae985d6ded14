export {
  AddressGuardError,
  bareHostname,
  isLocalhostName,
  parseGuardedUrl,
  pinnedLookup,
  refusedRange,
  resolveCheckedAddresses,
  type AddressGuardFailure,
  type AddressGuardOptions,
} from './address-guard.ts';
