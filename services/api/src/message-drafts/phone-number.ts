import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Where a number without a country code is taken to be. The reference's example
 * (`513-867-5309`) is a US number written nationally.
 */
const DEFAULT_REGION = 'US';

/**
 * A phone number in E.164 (`+15138675309`), or undefined when `input` is not a valid number:
 * international (`+44 20 7946 0958`) or, without a country code, national in the US
 * (`(513) 867-5309`). Validity is libphonenumber's full metadata (the numbering plans of every
 * region), so a number of the right length in an unassigned range is refused too. An
 * extension (`x12`) is refused: a text message cannot dial one.
 */
export function toE164(input: string): string | undefined {
  const parsed = parsePhoneNumberFromString(input, DEFAULT_REGION);
  if (parsed === undefined || !parsed.isValid() || parsed.ext !== undefined) return undefined;
  return parsed.number;
}
