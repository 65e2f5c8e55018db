//! Digests and Spark's hash functions.
//!
//! `hash` is Spark's Murmur3 (x86, 32 bits, seed 42) and `xxhash64` its xxHash64 (seed 42),
//! folded over the arguments: each argument's hash is the seed of the next, and a null leaves
//! the running hash as it was. Values are hashed as Spark hashes the same type: a BIGINT as
//! its 8 bytes, a DOUBLE as its bits (with -0.0 as 0.0), a DATE as a 4-byte INT, text as its
//! UTF-8 bytes, arrays and structs element by element. Integers here are all BIGINT, so
//! `hash(1)` equals Spark's `hash(CAST(1 AS BIGINT))`, not Spark's `hash(1)` of an INT.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::Value;

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(f, F::Md5 | F::Sha1 | F::Sha2 | F::Crc32 | F::Hash | F::Xxhash64)
}

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Str(s) => s.as_bytes(),
        Value::Binary(b) => b,
        _ => &[],
    }
}

fn hex(digest: &[u8]) -> Value {
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    Value::from(out)
}

/// Evaluates a digest or hash.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    match c.func {
        F::Md5 => hex(&Md5::digest(bytes(&args[0]))),
        F::Sha1 => hex(&Sha1::digest(bytes(&args[0]))),
        F::Sha2 => {
            let data = bytes(&args[0]);
            match args[1].as_i64() {
                Some(0 | 256) => hex(&Sha256::digest(data)),
                Some(224) => hex(&Sha224::digest(data)),
                Some(384) => hex(&Sha384::digest(data)),
                Some(512) => hex(&Sha512::digest(data)),
                _ => Value::Null,
            }
        }
        F::Crc32 => Value::Int(i64::from(crc32fast::hash(bytes(&args[0])))),
        F::Hash => Value::Int(i64::from(args.iter().zip(typed_precisions(c)).fold(
            SEED as i32,
            |h, (v, precision)| match (v, precision) {
                (Value::Decimal(d), Some(p)) => murmur3_decimal(*d, p, h),
                _ => murmur3_value(v, h),
            },
        ))),
        F::Xxhash64 => Value::Int(args.iter().zip(typed_precisions(c)).fold(
            SEED,
            |h, (v, precision)| match (v, precision) {
                (Value::Decimal(d), Some(p)) => xxhash64_decimal(*d, p, h),
                _ => xxhash64_value(v, h),
            },
        )),
        _ => Value::Null,
    }
}

/// The declared precision of each argument that is a DECIMAL (Spark hashes a decimal by its
/// type's precision), then `None` for ever.
fn typed_precisions(c: &BoundCall) -> impl Iterator<Item = Option<u8>> + '_ {
    c.types
        .iter()
        .map(|t| match t {
            crate::data::DataType::Decimal { precision, .. } => Some(*precision),
            _ => None,
        })
        .chain(std::iter::repeat(None))
}

/// Spark's form of a decimal for hashing: up to 18 digits of precision, the unscaled value as
/// a BIGINT; beyond, the bytes of Java's `BigInteger.toByteArray` of it (the shortest
/// big-endian two's complement).
enum DecimalKey {
    Long(i64),
    Bytes(Vec<u8>),
}

fn decimal_key(d: crate::data::Decimal, precision: u8) -> DecimalKey {
    let unscaled = d.unscaled();
    if precision <= 18 {
        // Within 18 digits the unscaled value fits 64 bits.
        return DecimalKey::Long(unscaled as i64);
    }
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    DecimalKey::Bytes(bytes[start..].to_vec())
}

fn murmur3_decimal(d: crate::data::Decimal, precision: u8, seed: i32) -> i32 {
    match decimal_key(d, precision) {
        DecimalKey::Long(l) => murmur3_long(l, seed),
        DecimalKey::Bytes(b) => murmur3_bytes(&b, seed),
    }
}

fn xxhash64_decimal(d: crate::data::Decimal, precision: u8, seed: i64) -> i64 {
    match decimal_key(d, precision) {
        DecimalKey::Long(l) => xxhash_rust::xxh64::xxh64(&l.to_le_bytes(), seed as u64) as i64,
        DecimalKey::Bytes(b) => xxhash_rust::xxh64::xxh64(&b, seed as u64) as i64,
    }
}

/// Spark's seed for both hashes.
const SEED: i64 = 42;

/// A double's bits as Java's `doubleToLongBits` gives them, with -0.0 as 0.0 (Spark
/// normalises it) and one NaN.
fn double_bits(x: f64) -> i64 {
    let x = if x == 0.0 { 0.0 } else { x };
    if x.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        x.to_bits() as i64
    }
}

/// Spark's Murmur3 of one value, seeded with the running hash.
fn murmur3_value(v: &Value, seed: i32) -> i32 {
    match v {
        Value::Null => seed,
        Value::Bool(b) => murmur3_int(i32::from(*b), seed),
        Value::Int(i) | Value::Timestamp(i) => murmur3_long(*i, seed),
        Value::Date(d) => murmur3_int(*d, seed),
        Value::Float(x) => murmur3_long(double_bits(*x), seed),
        Value::Str(s) => murmur3_bytes(s.as_bytes(), seed),
        Value::Binary(b) => murmur3_bytes(b, seed),
        // Inside an array or struct the declared precision is not at hand: the value's own.
        Value::Decimal(d) => murmur3_decimal(*d, d.precision(), seed),
        Value::Array(items) | Value::Struct(items) => items.iter().fold(seed, |h, v| murmur3_value(v, h)),
    }
}

/// Spark's xxHash64 of one value, seeded with the running hash.
fn xxhash64_value(v: &Value, seed: i64) -> i64 {
    let xx = |data: &[u8]| xxhash_rust::xxh64::xxh64(data, seed as u64) as i64;
    match v {
        Value::Null => seed,
        Value::Bool(b) => xx(&i32::from(*b).to_le_bytes()),
        Value::Int(i) | Value::Timestamp(i) => xx(&i.to_le_bytes()),
        Value::Date(d) => xx(&d.to_le_bytes()),
        Value::Float(x) => xx(&double_bits(*x).to_le_bytes()),
        Value::Str(s) => xx(s.as_bytes()),
        Value::Binary(b) => xx(b),
        Value::Decimal(d) => xxhash64_decimal(*d, d.precision(), seed),
        Value::Array(items) | Value::Struct(items) => items.iter().fold(seed, |h, v| xxhash64_value(v, h)),
    }
}

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

fn mix_k1(k1: u32) -> u32 {
    k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_h1(h1: u32, k1: u32) -> u32 {
    (h1 ^ k1)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix(mut h1: u32, length: u32) -> i32 {
    h1 ^= length;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^= h1 >> 16;
    h1 as i32
}

/// Murmur3 of a 4-byte INT.
pub(crate) fn murmur3_int(i: i32, seed: i32) -> i32 {
    fmix(mix_h1(seed as u32, mix_k1(i as u32)), 4)
}

/// Murmur3 of an 8-byte BIGINT: its low word, then its high word.
pub(crate) fn murmur3_long(l: i64, seed: i32) -> i32 {
    let h1 = mix_h1(seed as u32, mix_k1(l as u32));
    let h1 = mix_h1(h1, mix_k1((l >> 32) as u32));
    fmix(h1, 8)
}

/// Spark's Murmur3 of bytes: whole 4-byte little-endian words, then, unlike the reference
/// algorithm, each remaining byte mixed alone as a sign-extended INT.
pub(crate) fn murmur3_bytes(data: &[u8], seed: i32) -> i32 {
    let mut h1 = seed as u32;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        h1 = mix_h1(
            h1,
            mix_k1(u32::from_le_bytes([word[0], word[1], word[2], word[3]])),
        );
    }
    for &b in words.remainder() {
        h1 = mix_h1(h1, mix_k1(i32::from(b as i8) as u32));
    }
    fmix(h1, data.len() as u32)
}
