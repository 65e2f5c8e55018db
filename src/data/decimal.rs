//! [`Decimal`]: an exact decimal number as Spark's `DECIMAL(p, s)` holds it, and the
//! arithmetic behind its casts and operators.
//!
//! A value is an unscaled integer of up to 38 digits and a scale: `1.50` is 150 with scale 2.
//! The precision belongs to the column's type, not to the value; every operation here that
//! makes a value takes the precision and scale it must fit and gives `None` when it does not
//! (which Spark's non-ANSI mode turns into NULL). Rounding is HALF_UP everywhere, as Spark's
//! `Decimal.changePrecision`, except where `bround` asks for HALF_EVEN.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The largest precision (and scale) of a DECIMAL, as in Spark.
pub const MAX_PRECISION: u8 = 38;

/// Spark's `MINIMUM_ADJUSTED_SCALE`: when a result's exact type needs more than 38 digits,
/// its scale is cut, but not below this (see [`adjust_precision_scale`]).
const MINIMUM_ADJUSTED_SCALE: u8 = 6;

/// An exact decimal number: an unscaled integer (up to 38 digits) and a scale.
///
/// The integer is kept as four 32-bit words rather than an `i128`, whose 16-byte alignment
/// would grow every [`Value`](super::Value) (and so every row and every key's state) from 24
/// to 32 bytes. Equality, order and hashing are by numeric value, so `1.50` equals `1.5`
/// (Spark's grouping and comparisons do the same).
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct Decimal {
    words: [u32; 4],
    scale: u8,
}

impl Decimal {
    /// The number `unscaled × 10^-scale`. The caller keeps `unscaled` within 38 digits and
    /// `scale` within 38; every constructor in this module does.
    pub fn new(unscaled: i128, scale: u8) -> Self {
        let bits = unscaled as u128;
        Decimal {
            // Truncations: the four 32-bit words, lowest first.
            words: [
                bits as u32,
                (bits >> 32) as u32,
                (bits >> 64) as u32,
                (bits >> 96) as u32,
            ],
            scale,
        }
    }

    /// The unscaled integer: 150 for `1.50`.
    pub fn unscaled(self) -> i128 {
        let [a, b, c, d] = self.words.map(u128::from);
        (a | (b << 32) | (c << 64) | (d << 96)) as i128
    }

    /// The number of digits after the point: 2 for `1.50`.
    pub fn scale(self) -> u8 {
        self.scale
    }

    /// The precision this value needs: its digits, and at least its scale (`0.05` needs 3:
    /// DECIMAL(3, 2)), as Spark gives a literal's type.
    pub fn precision(self) -> u8 {
        digits(self.unscaled().unsigned_abs())
            .max(u32::from(self.scale))
            .max(1) as u8
    }

    /// This value with `scale` digits after the point (HALF_UP), if it fits `precision`
    /// digits: Spark's `changePrecision`, behind every cast to a DECIMAL.
    pub fn rescale(self, precision: u8, scale: u8) -> Option<Decimal> {
        let wide = Wide::from_i128(self.unscaled());
        wide.to_decimal(u32::from(self.scale), precision, scale, Rounding::HalfUp)
    }

    /// The exact number `unscaled × 10^-scale` for any integer, fitted to `(precision, scale)`.
    pub fn from_i128(unscaled: i128, from_scale: u8, precision: u8, scale: u8) -> Option<Decimal> {
        Wide::from_i128(unscaled).to_decimal(u32::from(from_scale), precision, scale, Rounding::HalfUp)
    }

    /// Text to a decimal as Spark's cast reads it (Java's `BigDecimal`, after trimming white
    /// space): an optional sign, digits with an optional point, an optional exponent (`1e3`,
    /// `1.5E-2`). `None` for anything else, or for a number that does not fit.
    pub fn parse(text: &str, precision: u8, scale: u8) -> Option<Decimal> {
        let t = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
        let (negative, rest) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e = &rest[i + 1..];
                let e = e.strip_prefix('+').unwrap_or(e);
                if e.is_empty() || e.starts_with('+') {
                    return None;
                }
                (&rest[..i], e.parse::<i64>().ok()?)
            }
            None => (rest, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        // The value is `digits × 10^(exponent - fraction.len())`.
        let digits_iter = whole.bytes().chain(fraction.bytes()).map(|b| b - b'0');
        let shift = exponent.checked_sub(fraction.len() as i64)?;
        // Into the target scale: `digits × 10^(shift + scale)`, HALF_UP on dropped digits.
        let to = shift.checked_add(i64::from(scale))?;
        let all: Vec<u8> = digits_iter.skip_while(|d| *d == 0).collect();
        let (kept, dropped) = if to >= 0 {
            (&all[..], &[][..])
        } else {
            let cut = all.len().saturating_sub(to.unsigned_abs() as usize);
            all.split_at(cut)
        };
        let mut unscaled: u128 = 0;
        for d in kept {
            unscaled = unscaled.checked_mul(10)?.checked_add(u128::from(*d))?;
        }
        if to > 0 && unscaled != 0 {
            unscaled = unscaled.checked_mul(pow10(u32::try_from(to).ok()?)?)?;
        }
        // Only the first dropped digit decides HALF_UP; more than one dropped digit beyond
        // the whole number (`to` far below zero) leaves a first dropped digit of zero.
        let first_dropped = if to < 0 && all.len() < to.unsigned_abs() as usize {
            0
        } else {
            dropped.first().copied().unwrap_or(0)
        };
        if first_dropped >= 5 {
            unscaled = unscaled.checked_add(1)?;
        }
        if digits(unscaled) > u32::from(precision) {
            return None;
        }
        let signed = i128::try_from(unscaled).ok()?;
        Some(Decimal::new(if negative { -signed } else { signed }, scale))
    }

    /// A double as a decimal, by Spark's rule: the double's shortest decimal text (what Java's
    /// `Double.toString` prints), fitted HALF_UP; `None` for NaN, the infinities, or a value
    /// that does not fit.
    pub fn from_f64(x: f64, precision: u8, scale: u8) -> Option<Decimal> {
        if !x.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{x:e}"), precision, scale)
    }

    /// The nearest double, as Java's `BigDecimal.doubleValue` gives it.
    pub fn to_f64(self) -> f64 {
        let u = self.unscaled();
        // Both exact as doubles: one correctly rounded division.
        if u.unsigned_abs() < (1 << 53) && self.scale <= 22 {
            return u as f64 / 10f64.powi(i32::from(self.scale));
        }
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// The whole part, truncated toward zero and wrapped to 64 bits: Spark's non-ANSI cast
    /// to BIGINT (`Decimal.toLong`).
    pub fn to_i64(self) -> i64 {
        match pow10(u32::from(self.scale)) {
            // Truncation: the low 64 bits, as Java's `longValue`.
            Some(f) => (self.unscaled() / f as i128) as i64,
            None => 0,
        }
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.unscaled() == 0
    }

    /// The negation (which always fits the same type).
    pub fn negate(self) -> Decimal {
        Decimal::new(-self.unscaled(), self.scale)
    }

    /// The absolute value (which always fits the same type).
    pub fn abs(self) -> Decimal {
        Decimal::new(self.unscaled().abs(), self.scale)
    }

    /// The value rounded to `places` digits after the point (negative: before it), HALF_UP or
    /// HALF_EVEN, then held with `scale` digits and fitted to `precision`: `round` and `bround`
    /// (and, with the rounding toward an infinity, `floor` and `ceil`).
    pub fn round(self, places: i32, rounding: Rounding, precision: u8, scale: u8) -> Option<Decimal> {
        let from = u32::from(self.scale);
        let wide = Wide::from_i128(self.unscaled());
        if places >= from as i32 {
            return wide.to_decimal(from, precision, scale, rounding);
        }
        // Round to `places`, in units of 10^-places, then hold it at `scale`.
        let drop = (from as i32 - places) as u32;
        let rounded = wide.div_pow10(drop, rounding)?;
        let up = i64::from(scale) - i64::from(places);
        if up >= 0 {
            rounded.mul_pow10(up as u32)?.fit(precision, scale)
        } else {
            rounded
                .div_pow10(up.unsigned_abs() as u32, Rounding::HalfUp)?
                .fit(precision, scale)
        }
    }

    /// `self op other`, exactly, then fitted HALF_UP to the result type `(precision, scale)`:
    /// Spark's decimal `+ - * / %`. `None` when the result does not fit, or for `/` and `%`
    /// by zero.
    pub fn arith(self, op: DecimalOp, other: Decimal, precision: u8, scale: u8) -> Option<Decimal> {
        let (a, sa) = (Wide::from_i128(self.unscaled()), u32::from(self.scale));
        let (b, sb) = (Wide::from_i128(other.unscaled()), u32::from(other.scale));
        match op {
            DecimalOp::Add | DecimalOp::Sub | DecimalOp::Rem | DecimalOp::Pmod => {
                let common = sa.max(sb);
                let a = a.mul_pow10(common - sa)?;
                let b = b.mul_pow10(common - sb)?;
                let exact = match op {
                    DecimalOp::Add => a.add(b),
                    DecimalOp::Sub => a.add(b.negate()),
                    _ => {
                        let r = a.rem(b)?;
                        if op == DecimalOp::Pmod && r.negative && !r.is_zero() {
                            r.add(b).rem(b)?
                        } else {
                            r
                        }
                    }
                };
                exact.to_decimal(common, precision, scale, Rounding::HalfUp)
            }
            DecimalOp::Mul => a.mul(b)?.to_decimal(sa + sb, precision, scale, Rounding::HalfUp),
            DecimalOp::Div => {
                if b.is_zero() {
                    return None;
                }
                // The quotient at `scale`: a × 10^(scale + sb - sa) / b, HALF_UP.
                let shift = i64::from(scale) + i64::from(sb) - i64::from(sa);
                let (num, den) = if shift >= 0 {
                    (a.mul_pow10(shift as u32)?, b)
                } else {
                    (a, b.mul_pow10(shift.unsigned_abs() as u32)?)
                };
                num.div_round(den)?
                    .to_decimal(u32::from(scale), precision, scale, Rounding::HalfUp)
            }
        }
    }

    /// The text Java's `BigDecimal.toString` gives: the plain text, except below 10^-6 with
    /// digits, where it has an exponent (`1E-7`, `1.0E-7`, `0E-7` for 0 with scale 7). That is
    /// what Spark's non-ANSI `CAST(d AS STRING)` and its CSV and JSON writers print; `show()`
    /// and ANSI casts print the plain text (`Display`).
    pub fn to_java_string(self) -> String {
        let u = self.unscaled();
        let coefficient = u.unsigned_abs().to_string();
        let adjusted = coefficient.len() as i64 - 1 - i64::from(self.scale);
        if adjusted >= -6 {
            return self.to_string();
        }
        let sign = if u < 0 { "-" } else { "" };
        let (first, rest) = coefficient.split_at(1);
        if rest.is_empty() {
            format!("{sign}{first}E{adjusted}")
        } else {
            format!("{sign}{first}.{rest}E{adjusted}")
        }
    }

    /// Strips trailing zeros after the point: one form per number, for hashing.
    fn normalized(self) -> (i128, u8) {
        let (mut u, mut s) = (self.unscaled(), self.scale);
        if u == 0 {
            return (0, 0);
        }
        while s > 0 && u % 10 == 0 {
            u /= 10;
            s -= 1;
        }
        (u, s)
    }
}

/// Which decimal operator [`Decimal::arith`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`: the remainder, with the sign of the dividend.
    Rem,
    /// `pmod`: the remainder made non-negative for a positive divisor.
    Pmod,
}

/// How [`Decimal::round`] breaks ties and which way it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero (`round`, and every cast).
    HalfUp,
    /// Half to the even neighbour (`bround`).
    HalfEven,
    /// Toward negative infinity (`floor`).
    Floor,
    /// Toward positive infinity (`ceil`).
    Ceiling,
}

/// The type of `a op b` for decimals `a: (p1, s1)` and `b: (p2, s2)`, by Spark's
/// `DecimalPrecision` rules with `spark.sql.decimalOperations.allowPrecisionLoss` on.
pub fn result_type(op: DecimalOp, (p1, s1): (u8, u8), (p2, s2): (u8, u8)) -> (u8, u8) {
    let (p1, s1, p2, s2) = (i32::from(p1), i32::from(s1), i32::from(p2), i32::from(s2));
    let (p, s) = match op {
        DecimalOp::Add | DecimalOp::Sub => {
            let scale = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + scale + 1, scale)
        }
        DecimalOp::Mul => (p1 + p2 + 1, s1 + s2),
        DecimalOp::Div => {
            let scale = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + scale, scale)
        }
        DecimalOp::Rem | DecimalOp::Pmod => {
            let scale = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + scale, scale)
        }
    };
    adjust_precision_scale(p, s)
}

/// Spark's `DecimalType.adjustPrecisionScale`: a type of more than 38 digits keeps its whole
/// digits and gives up scale, down to 6 (or the scale it had, if less).
pub fn adjust_precision_scale(precision: i32, scale: i32) -> (u8, u8) {
    let max = i32::from(MAX_PRECISION);
    if precision <= max {
        return (precision.max(1) as u8, scale.clamp(0, max) as u8);
    }
    let whole = precision - scale;
    let min_scale = scale.min(i32::from(MINIMUM_ADJUSTED_SCALE));
    let adjusted = (max - whole).max(min_scale);
    (MAX_PRECISION, adjusted.clamp(0, max) as u8)
}

/// Spark's `DecimalType.bounded`: both at most 38.
pub fn bounded(precision: i32, scale: i32) -> (u8, u8) {
    let max = i32::from(MAX_PRECISION);
    (precision.clamp(1, max) as u8, scale.clamp(0, max) as u8)
}

/// The number of decimal digits of `u` (0 has none).
fn digits(u: u128) -> u32 {
    if u == 0 {
        0
    } else {
        u.ilog10() + 1
    }
}

/// `10^n` if it fits in a `u128` (up to 10^38).
fn pow10(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

/// A signed 256-bit integer as a sign and a magnitude, wide enough for the exact product of
/// two 38-digit numbers and for a 38-digit number scaled up by 10^38.
#[derive(Clone, Copy, Debug)]
struct Wide {
    negative: bool,
    /// The magnitude: `(high, low)` 128-bit halves.
    high: u128,
    low: u128,
}

impl Wide {
    fn from_i128(v: i128) -> Self {
        Wide {
            negative: v < 0,
            high: 0,
            low: v.unsigned_abs(),
        }
    }

    fn is_zero(self) -> bool {
        self.high == 0 && self.low == 0
    }

    fn negate(self) -> Self {
        Wide {
            negative: !self.negative,
            ..self
        }
    }

    fn cmp_magnitude(self, other: Wide) -> Ordering {
        (self.high, self.low).cmp(&(other.high, other.low))
    }

    fn add_magnitude(self, other: Wide) -> (u128, u128) {
        let (low, carry) = self.low.overflowing_add(other.low);
        // The magnitudes here stay far below 2^255: no carry out of the high half.
        (
            self.high.wrapping_add(other.high).wrapping_add(u128::from(carry)),
            low,
        )
    }

    fn sub_magnitude(self, other: Wide) -> (u128, u128) {
        let (low, borrow) = self.low.overflowing_sub(other.low);
        (
            self.high
                .wrapping_sub(other.high)
                .wrapping_sub(u128::from(borrow)),
            low,
        )
    }

    fn add(self, other: Wide) -> Wide {
        if self.negative == other.negative {
            let (high, low) = self.add_magnitude(other);
            return Wide {
                negative: self.negative,
                high,
                low,
            };
        }
        let (big, small) = if self.cmp_magnitude(other) == Ordering::Less {
            (other, self)
        } else {
            (self, other)
        };
        let (high, low) = big.sub_magnitude(small);
        Wide {
            negative: big.negative && (high, low) != (0, 0),
            high,
            low,
        }
    }

    /// The product, if its magnitude fits 256 bits.
    fn mul(self, other: Wide) -> Option<Wide> {
        if self.high != 0 && other.high != 0 {
            return None;
        }
        let (wide, narrow) = if self.high != 0 {
            (self, other.low)
        } else {
            (other, self.low)
        };
        // wide × narrow, with narrow < 2^128: the four 64-bit partial products of each half.
        let (low_high, low_low) = mul_128(wide.low, narrow);
        let (high_high, high_low) = mul_128(wide.high, narrow);
        if high_high != 0 {
            return None;
        }
        let high = low_high.checked_add(high_low)?;
        Some(Wide {
            negative: (self.negative != other.negative) && !(high == 0 && low_low == 0),
            high,
            low: low_low,
        })
    }

    fn mul_pow10(self, n: u32) -> Option<Wide> {
        let mut out = self;
        let mut left = n;
        // 10^38 is the largest power of ten in a u128.
        while left > 0 {
            let step = left.min(38);
            out = out.mul(Wide::from_i128(pow10(step)? as i128))?;
            left -= step;
        }
        Some(out)
    }

    /// The quotient and remainder of the magnitudes (the remainder is less than `den`).
    fn divrem_magnitude(self, den: Wide) -> Option<(Wide, Wide)> {
        if den.is_zero() {
            return None;
        }
        if self.high == 0 && den.high == 0 {
            let q = Wide {
                negative: false,
                high: 0,
                low: self.low / den.low,
            };
            let r = Wide {
                negative: false,
                high: 0,
                low: self.low % den.low,
            };
            return Some((q, r));
        }
        let (mut q_high, mut q_low, mut r) = (0u128, 0u128, Wide::from_i128(0));
        for bit in (0..256).rev() {
            // r = r << 1 | bit of self.
            let top = if bit >= 128 {
                (self.high >> (bit - 128)) & 1
            } else {
                (self.low >> bit) & 1
            };
            r = Wide {
                negative: false,
                high: (r.high << 1) | (r.low >> 127),
                low: (r.low << 1) | top,
            };
            let den = Wide {
                negative: false,
                ..den
            };
            if r.cmp_magnitude(den) != Ordering::Less {
                let (high, low) = r.sub_magnitude(den);
                r = Wide {
                    negative: false,
                    high,
                    low,
                };
                if bit >= 128 {
                    q_high |= 1 << (bit - 128);
                } else {
                    q_low |= 1 << bit;
                }
            }
        }
        let q = Wide {
            negative: false,
            high: q_high,
            low: q_low,
        };
        Some((q, r))
    }

    /// The remainder with the sign of the dividend (Java's `BigDecimal.remainder`).
    fn rem(self, den: Wide) -> Option<Wide> {
        let (_, r) = self.divrem_magnitude(den)?;
        Some(Wide {
            negative: self.negative && !r.is_zero(),
            ..r
        })
    }

    /// The quotient rounded HALF_UP.
    fn div_round(self, den: Wide) -> Option<Wide> {
        let (q, r) = self.divrem_magnitude(den)?;
        let twice = r.add(r);
        let q = if twice.cmp_magnitude(Wide {
            negative: false,
            ..den
        }) != Ordering::Less
        {
            q.add(Wide::from_i128(1))
        } else {
            q
        };
        Some(Wide {
            negative: (self.negative != den.negative) && !q.is_zero(),
            ..q
        })
    }

    /// Divides by 10^n (n ≤ 76), rounding as asked.
    fn div_pow10(self, n: u32, rounding: Rounding) -> Option<Wide> {
        if n == 0 {
            return Some(self);
        }
        let den = Wide::from_i128(1).mul_pow10(n)?;
        let (q, r) = self.divrem_magnitude(den)?;
        if r.is_zero() {
            return Some(Wide {
                negative: self.negative && !q.is_zero(),
                ..q
            });
        }
        let twice = r.add(r).cmp_magnitude(den);
        let up = match rounding {
            Rounding::HalfUp => twice != Ordering::Less,
            Rounding::HalfEven => twice == Ordering::Greater || (twice == Ordering::Equal && q.low & 1 == 1),
            Rounding::Floor => self.negative,
            Rounding::Ceiling => !self.negative,
        };
        let q = if up { q.add(Wide::from_i128(1)) } else { q };
        Some(Wide {
            negative: self.negative && !q.is_zero(),
            ..q
        })
    }

    /// `self × 10^-from` held at `scale` (rounded as asked), if it fits `precision` digits.
    fn to_decimal(self, from: u32, precision: u8, scale: u8, rounding: Rounding) -> Option<Decimal> {
        let to = u32::from(scale);
        let v = if to >= from {
            self.mul_pow10(to - from)?
        } else {
            self.div_pow10(from - to, rounding)?
        };
        v.fit(precision, scale)
    }

    /// This integer as the unscaled value of a decimal at `scale`, if it fits `precision`.
    fn fit(self, precision: u8, scale: u8) -> Option<Decimal> {
        if self.high != 0 || digits(self.low) > u32::from(precision.min(MAX_PRECISION)) {
            return None;
        }
        let magnitude = self.low as i128;
        Some(Decimal::new(
            if self.negative { -magnitude } else { magnitude },
            scale,
        ))
    }
}

/// The full 256-bit product of two 128-bit numbers, `(high, low)`.
fn mul_128(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let middle = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let low = (p00 & MASK) | (middle << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
    (high, low)
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl Ord for Decimal {
    /// By numeric value, whatever the scales.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.unscaled(), other.unscaled());
        if self.scale == other.scale {
            return a.cmp(&b);
        }
        let (wa, wb) = (Wide::from_i128(a), Wide::from_i128(b));
        let common = u32::from(self.scale.max(other.scale));
        // Scaling a 38-digit number by at most 10^38 stays within 256 bits.
        match (
            wa.mul_pow10(common - u32::from(self.scale)),
            wb.mul_pow10(common - u32::from(other.scale)),
        ) {
            (Some(x), Some(y)) => match (x.negative, y.negative) {
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (false, false) => x.cmp_magnitude(y),
                (true, true) => y.cmp_magnitude(x),
            },
            _ => a.signum().cmp(&b.signum()),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Decimal {
    /// Consistent with `Eq`: `1.50` and `1.5` hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (u, s) = self.normalized();
        state.write_i128(u);
        state.write_u8(s);
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

/// The plain text of the number, as Java's `BigDecimal.toPlainString` writes it and Spark's
/// `CAST(d AS STRING)` and `show()` print it: every digit of the scale (`1.50`), a leading
/// `0.` below one (`0.05`, `-0.5`), never an exponent.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = self.unscaled();
        let digits = u.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if u < 0 {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            write!(f, "{whole}.{fraction}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str, p: u8, s: u8) -> Option<String> {
        Decimal::parse(text, p, s).map(|d| d.to_string())
    }

    #[test]
    fn text_parses_as_java_big_decimal_and_rounds_half_up() {
        assert_eq!(d("1.5", 10, 2).as_deref(), Some("1.50"));
        assert_eq!(d(" -1.005 ", 10, 2).as_deref(), Some("-1.01"));
        assert_eq!(d("1.004", 10, 2).as_deref(), Some("1.00"));
        assert_eq!(d("0.5", 1, 0).as_deref(), Some("1"));
        assert_eq!(d("-0.5", 1, 0).as_deref(), Some("-1"));
        assert_eq!(d("0.4", 1, 0).as_deref(), Some("0"));
        assert_eq!(d("-0.4", 1, 0).as_deref(), Some("0"));
        assert_eq!(d("1e3", 10, 0).as_deref(), Some("1000"));
        assert_eq!(d("1.5E-2", 10, 3).as_deref(), Some("0.015"));
        assert_eq!(d("+.5", 3, 1).as_deref(), Some("0.5"));
        assert_eq!(d("7.", 3, 0).as_deref(), Some("7"));
        assert_eq!(d("0.000", 3, 2).as_deref(), Some("0.00"));
        assert_eq!(d("1e-100", 10, 2).as_deref(), Some("0.00"));
        // 999.995 rounds to 1000.00: six digits, too many for DECIMAL(5, 2).
        assert_eq!(d("999.995", 5, 2), None);
        assert_eq!(d("999.994", 5, 2).as_deref(), Some("999.99"));
        assert_eq!(d("1e100", 38, 0), None);
        for bad in [
            "", "abc", "1.2.3", "1e", "--1", ".", "e3", "1 2", "NaN", "Infinity",
        ] {
            assert_eq!(d(bad, 10, 2), None, "{bad:?}");
        }
        let max = "9".repeat(38);
        assert_eq!(d(&max, 38, 0), Some(max.clone()));
        assert_eq!(d(&format!("-{max}"), 38, 0), Some(format!("-{max}")));
        assert_eq!(d(&format!("{max}9"), 38, 0), None);
    }

    #[test]
    fn plain_text_keeps_the_scale_and_never_uses_an_exponent() {
        assert_eq!(Decimal::new(150, 2).to_string(), "1.50");
        assert_eq!(Decimal::new(-5, 2).to_string(), "-0.05");
        assert_eq!(Decimal::new(1, 7).to_string(), "0.0000001");
        assert_eq!(Decimal::new(0, 3).to_string(), "0.000");
        assert_eq!(Decimal::new(-42, 0).to_string(), "-42");
        // Java's toString: an exponent only below 10^-6.
        assert_eq!(Decimal::new(1, 6).to_java_string(), "0.000001");
        assert_eq!(Decimal::new(1, 7).to_java_string(), "1E-7");
        assert_eq!(Decimal::new(-10, 8).to_java_string(), "-1.0E-7");
        assert_eq!(Decimal::new(0, 7).to_java_string(), "0E-7");
        assert_eq!(Decimal::new(123, 8).to_java_string(), "0.00000123");
        assert_eq!(Decimal::new(150, 2).to_java_string(), "1.50");
    }

    #[test]
    fn equal_numbers_are_equal_and_hash_alike_whatever_the_scale() {
        use std::hash::BuildHasher;
        let h = foldhash::fast::FixedState::with_seed(3);
        let (a, b) = (Decimal::new(150, 2), Decimal::new(15, 1));
        assert_eq!(a, b);
        assert_eq!(h.hash_one(a), h.hash_one(b));
        assert_eq!(Decimal::new(0, 5), Decimal::new(0, 0));
        assert_eq!(h.hash_one(Decimal::new(0, 5)), h.hash_one(Decimal::new(0, 0)));
        assert!(Decimal::new(-151, 2) < Decimal::new(-15, 1));
        assert!(Decimal::new(1, 38) > Decimal::new(0, 0));
        let max = Decimal::new(10i128.pow(38) - 1, 0);
        assert!(max > Decimal::new(10i128.pow(38) - 1, 38));
        assert!(max.negate() < Decimal::new(-1, 38));
    }

    #[test]
    fn result_types_follow_sparks_decimal_precision_rules() {
        // Worked from DecimalPrecision: (10,2)+(5,3) -> max(8,2)+3+1 = 12, scale 3.
        assert_eq!(result_type(DecimalOp::Add, (10, 2), (5, 3)), (12, 3));
        assert_eq!(result_type(DecimalOp::Mul, (10, 2), (5, 3)), (16, 5));
        // Div: scale max(6, 2+5+1) = 8, precision 10-2+3+8 = 19.
        assert_eq!(result_type(DecimalOp::Div, (10, 2), (5, 3)), (19, 8));
        assert_eq!(result_type(DecimalOp::Rem, (10, 2), (5, 3)), (5, 3));
        // BIGINT as DECIMAL(20, 0) with DECIMAL(10, 2).
        assert_eq!(result_type(DecimalOp::Add, (10, 2), (20, 0)), (23, 2));
        // (38,10) * (38,10): 77 digits; whole 57 > 38, so scale falls to min(20, 6) = 6.
        assert_eq!(result_type(DecimalOp::Mul, (38, 10), (38, 10)), (38, 6));
        // (38,18) / (38,18): scale 18+38+1 = 57, precision 38-18+18+57 = 95; whole 38, so 6.
        assert_eq!(result_type(DecimalOp::Div, (38, 18), (38, 18)), (38, 6));
        // (20,2)*(20,2): 41 digits at scale 4, 37 of them whole: 38 - 37 = 1 place would be
        // left, but the scale keeps min(4, 6) = 4.
        assert_eq!(result_type(DecimalOp::Mul, (20, 2), (20, 2)), (38, 4));
    }

    #[test]
    fn arithmetic_is_exact_then_rounded_half_up_and_overflow_is_none() {
        let x = |u: i128, s: u8| Decimal::new(u, s);
        let op =
            |a: Decimal, o: DecimalOp, b: Decimal, p: u8, s: u8| a.arith(o, b, p, s).map(|d| d.to_string());
        assert_eq!(
            op(x(150, 2), DecimalOp::Add, x(2, 1), 4, 2).as_deref(),
            Some("1.70")
        );
        assert_eq!(
            op(x(150, 2), DecimalOp::Sub, x(2, 0), 4, 2).as_deref(),
            Some("-0.50")
        );
        assert_eq!(
            op(x(-15, 1), DecimalOp::Mul, x(15, 1), 5, 2).as_deref(),
            Some("-2.25")
        );
        // 1 / 3 at scale 6: 0.333333; 2 / 3: 0.666667 (HALF_UP).
        assert_eq!(
            op(x(1, 0), DecimalOp::Div, x(3, 0), 10, 6).as_deref(),
            Some("0.333333")
        );
        assert_eq!(
            op(x(2, 0), DecimalOp::Div, x(3, 0), 10, 6).as_deref(),
            Some("0.666667")
        );
        assert_eq!(
            op(x(-2, 0), DecimalOp::Div, x(3, 0), 10, 6).as_deref(),
            Some("-0.666667")
        );
        assert_eq!(op(x(1, 0), DecimalOp::Div, x(0, 2), 10, 6), None);
        assert_eq!(
            op(x(-75, 1), DecimalOp::Rem, x(2, 0), 2, 1).as_deref(),
            Some("-1.5")
        );
        assert_eq!(
            op(x(-75, 1), DecimalOp::Pmod, x(2, 0), 2, 1).as_deref(),
            Some("0.5")
        );
        assert_eq!(op(x(75, 1), DecimalOp::Rem, x(0, 0), 2, 1), None);
        // 99.9 + 0.1 = 100.0 does not fit DECIMAL(3, 1).
        assert_eq!(op(x(999, 1), DecimalOp::Add, x(1, 1), 3, 1), None);
        // The exact product of two 38-digit numbers needs 76 digits: it is computed, then does
        // not fit.
        let max = x(10i128.pow(38) - 1, 0);
        assert_eq!(op(max, DecimalOp::Mul, max, 38, 0), None);
        // (10^38 - 1) × 10^-20 squared is about 10^36: it fits 38 digits at scale 1.
        let big = x(10i128.pow(38) - 1, 20);
        // The square is 10^36 - 0.02 + 10^-40: 10^36 at scale 0 and at scale 1 (…99.98 → ….0).
        let ten_to_36 = format!("1{}", "0".repeat(36));
        assert_eq!(op(big, DecimalOp::Mul, big, 38, 0), Some(ten_to_36.clone()));
        assert_eq!(
            op(big, DecimalOp::Mul, big, 38, 1),
            Some(format!("{ten_to_36}.0"))
        );
        assert_eq!(
            op(big, DecimalOp::Mul, big, 38, 2),
            Some(format!("{}.98", "9".repeat(36)))
        );
    }

    #[test]
    fn doubles_and_integers_convert_as_spark_casts_them() {
        assert_eq!(
            Decimal::from_f64(0.1, 20, 19).map(|d| d.to_string()).as_deref(),
            Some("0.1000000000000000000")
        );
        assert_eq!(
            Decimal::from_f64(2.675, 10, 2).map(|d| d.to_string()).as_deref(),
            Some("2.68")
        );
        assert_eq!(Decimal::from_f64(f64::NAN, 10, 2), None);
        assert_eq!(Decimal::from_f64(1e10, 5, 0), None);
        assert_eq!(Decimal::new(150, 2).to_f64(), 1.5);
        assert_eq!(Decimal::new(-199, 2).to_i64(), -1);
        assert_eq!(
            Decimal::from_i128(-7, 0, 20, 2).map(|d| d.to_string()).as_deref(),
            Some("-7.00")
        );
        assert_eq!(Decimal::from_i128(123, 0, 2, 0), None);
    }

    #[test]
    fn rounding_to_places_half_up_half_even_floor_and_ceiling() {
        let r = |u: i128, s: u8, places: i32, mode: Rounding, p: u8, scale: u8| {
            Decimal::new(u, s)
                .round(places, mode, p, scale)
                .map(|d| d.to_string())
        };
        assert_eq!(r(25, 1, 0, Rounding::HalfUp, 2, 0).as_deref(), Some("3"));
        assert_eq!(r(-25, 1, 0, Rounding::HalfUp, 2, 0).as_deref(), Some("-3"));
        assert_eq!(r(25, 1, 0, Rounding::HalfEven, 2, 0).as_deref(), Some("2"));
        assert_eq!(r(35, 1, 0, Rounding::HalfEven, 2, 0).as_deref(), Some("4"));
        assert_eq!(r(-25, 1, 0, Rounding::Floor, 2, 0).as_deref(), Some("-3"));
        assert_eq!(r(-25, 1, 0, Rounding::Ceiling, 2, 0).as_deref(), Some("-2"));
        assert_eq!(r(12345, 2, -1, Rounding::HalfUp, 4, 0).as_deref(), Some("120"));
        assert_eq!(r(12500, 2, -2, Rounding::HalfEven, 4, 0).as_deref(), Some("100"));
        assert_eq!(r(12345, 2, 5, Rounding::HalfUp, 6, 2).as_deref(), Some("123.45"));
        assert_eq!(r(999, 1, 0, Rounding::HalfUp, 2, 0), None);
    }

    #[test]
    fn the_value_stays_small() {
        assert_eq!(std::mem::size_of::<Decimal>(), 20);
        assert_eq!(std::mem::align_of::<Decimal>(), 4);
    }
}
