/**
 * Numbers as RFC 8216 §4.2 defines them. A decimal-integer is 0 to 2^64−1: above 2^53 a JS
 * number is no longer exact, so range checks are done on the digits (BigInt), never with Number().
 */

/** The largest decimal-integer (RFC 8216 §4.2: "in the range 0 to 2^64-1"). */
export const MAX_DECIMAL_INTEGER = 2n ** 64n - 1n;

/** 2^64−1 has 20 digits; longer digit strings are out of range without parsing them. */
const MAX_DIGITS = 20;

/**
 * Reads a decimal-integer (RFC 8216 §4.2: `[0-9]+`, 0 to 2^64−1); undefined when the text is
 * not one (sign, fraction, exponent, `NaN`, `Infinity`) or is out of range.
 */
export function parseDecimalInteger(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const digits = text.replace(/^0+(?=\d)/, '');
  if (digits.length > MAX_DIGITS) return undefined;
  const value = BigInt(digits);
  return value <= MAX_DECIMAL_INTEGER ? value : undefined;
}

/**
 * Reads a decimal-integer that must fit a JS number exactly (target duration, version):
 * undefined when it is not a decimal-integer or exceeds 2^53−1.
 */
export function parseSafeInteger(text: string | undefined): number | undefined {
  const value = parseDecimalInteger(text);
  return value !== undefined && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** Why a decimal-integer was refused, quoting it (clipped): a message that says what to fix. */
export function describeDecimalInteger(text: string | undefined): string {
  if (text === undefined || text === '') return 'is missing';
  const shown = text.length > 24 ? `"${text.slice(0, 12)}…" (${text.length} characters)` : `"${text}"`;
  return /^\d+$/.test(text)
    ? `${shown} is above 2^64−1, the largest decimal-integer (RFC 8216 §4.2)`
    : `${shown} is not a decimal-integer (digits 0-9 only, RFC 8216 §4.2)`;
}

/** A decimal-floating-point (RFC 8216 §4.2: `[0-9]+` optionally `.` `[0-9]+`; no sign or exponent). */
export const DECIMAL_FLOATING_POINT = /^\d+(?:\.\d+)?$/;
