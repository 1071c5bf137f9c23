//! Keys of several parts (tag, strings, numbers) as bytes that sort as the parts do, part by
//! part: the engine orders keys by their bytes alone, and listings, queues and expiries are range
//! reads over such keys.
//!
//! - a `u8` is itself; a `u64` is its 8 bytes big-endian; an `i64` the same with the sign bit
//!   flipped (so that negative numbers sort first);
//! - a string is its bytes with every 0x00 written 0x00 0xFF, then 0x00 0x00: a string sorts before
//!   every longer one it begins, and a key's parts after it never mix with its bytes.

use caliper_core::StoreError;

/// A key being built, part by part.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(64))
    }

    pub(crate) fn u8(mut self, value: u8) -> Self {
        self.0.push(value);
        self
    }

    pub(crate) fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn i64(self, value: i64) -> Self {
        self.u64(value.cast_unsigned() ^ (1 << 63))
    }

    pub(crate) fn str(mut self, value: &str) -> Self {
        for &byte in value.as_bytes() {
            self.0.push(byte);
            if byte == 0 {
                self.0.push(0xFF);
            }
        }
        self.0.extend_from_slice(&[0, 0]);
        self
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Key> for fjall::UserKey {
    fn from(key: Key) -> Self {
        key.0.into()
    }
}

/// Reads a key's parts back, in the order they were written.
pub(crate) struct Parts<'k>(&'k [u8]);

impl<'k> Parts<'k> {
    pub(crate) fn of(key: &'k [u8]) -> Self {
        Self(key)
    }

    fn take(&mut self, n: usize) -> Result<&'k [u8], StoreError> {
        if self.0.len() < n {
            return Err(malformed());
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    #[cfg(test)]
    pub(crate) fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u64(&mut self) -> Result<u64, StoreError> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| malformed())?;
        Ok(u64::from_be_bytes(bytes))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, StoreError> {
        Ok((self.u64()? ^ (1 << 63)).cast_signed())
    }

    pub(crate) fn str(&mut self) -> Result<String, StoreError> {
        let mut bytes = Vec::new();
        loop {
            match self.take(1)?[0] {
                0 => match self.take(1)?[0] {
                    0 => break,
                    0xFF => bytes.push(0),
                    _ => return Err(malformed()),
                },
                byte => bytes.push(byte),
            }
        }
        String::from_utf8(bytes).map_err(|_| malformed())
    }
}

fn malformed() -> StoreError {
    StoreError::corrupt("embedded store holds a malformed key")
}

/// A `u64` value as stored (8 bytes big-endian); a value of another length reads as corrupt.
pub(crate) fn u64_value(bytes: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("embedded store holds a malformed number"))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tag: u8, text: &str, n: i64, id: u64) -> Vec<u8> {
        Key::new()
            .u8(tag)
            .str(text)
            .i64(n)
            .u64(id)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn keys_sort_as_their_parts_and_read_back() {
        let parts = [
            (0, "", -5, 0),
            (0, "", -5, 1),
            (0, "", 3, 0),
            (0, "a", i64::MIN, 0),
            (0, "a", 0, u64::MAX),
            (0, "a\0", 0, 0),
            (0, "a\0b", 0, 0),
            (0, "a\u{1}", 0, 0),
            (0, "ab", -1, 0),
            (0, "b", 0, 0),
            (0, "é", 0, 0),
            (1, "", 0, 0),
        ];
        let keys: Vec<Vec<u8>> = parts.iter().map(|&(t, s, n, i)| key(t, s, n, i)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys, "bytes sort as the parts do");
        for (bytes, &(tag, text, n, id)) in keys.iter().zip(&parts) {
            let mut read = Parts::of(bytes);
            let back = (
                read.u8().ok(),
                read.str().ok(),
                read.i64().ok(),
                read.u64().ok(),
            );
            assert_eq!(back, (Some(tag), Some(text.to_owned()), Some(n), Some(id)));
        }
        assert!(Parts::of(&[b'a', 0, 7]).str().is_err());
        assert!(Parts::of(&[1, 2]).u64().is_err());
        assert_eq!(u64_value(&7u64.to_be_bytes()).ok(), Some(7));
        assert!(u64_value(&[1]).is_err());
    }
}
