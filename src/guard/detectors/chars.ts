/**
 * @module guard/detectors/chars — character-class tests and checksums shared by the detectors
 * (hand-written so that scanners never depend on backtracking regexes).
 */

/** ASCII digit. */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** ASCII letter. */
export function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** ASCII letter or digit. */
export function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/** Letter, digit, `_` or any non-ASCII letter-like code unit: part of a word. */
export function isWordChar(c: number): boolean {
  return isAlnum(c) || c === 95 || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c < 0x2000);
}

/** Hex digit. */
export function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** base64url alphabet. */
export function isBase64Url(c: number): boolean {
  return isAlnum(c) || c === 45 || c === 95;
}

/** Luhn check over a string of ASCII digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Where `re` (global, no lookbehind) first matches at or after `from`, or `text.length`: a
 * detector's skip to its next candidate. Irregexp scans for a leading character class in native
 * code, several times faster than a `charCodeAt` loop on prose, where candidates are rare.
 */
export function nextMatch(re: RegExp, text: string, from: number): number {
  re.lastIndex = from;
  const m = re.exec(text);
  return m === null ? text.length : m.index;
}

/** The code unit at `i`, or -1 outside the string. */
export function codeAt(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}
