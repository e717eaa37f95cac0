//! A small, bounded MessagePack reader and writer helpers.
//!
//! Frames come from the network, so the reader never trusts a declared length: every length
//! is checked against the bytes actually left before anything is allocated or sliced, and
//! nesting deeper than [`MAX_DEPTH`] is refused instead of recursing. Values the engine does
//! not need to look into (`o.data`, `args`) are returned as borrowed byte slices, so a frame
//! is parsed without copying its payload.

use rmp::Marker;

/// Deepest nesting of arrays and maps a frame may carry.
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a MessagePack buffer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The buffer ended in the middle of a value.
    #[error("truncated MessagePack value")]
    Truncated,
    /// A value of another kind was found.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the reader needed.
        expected: &'static str,
        /// What it found.
        found: &'static str,
    },
    /// Text that is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Arrays and maps nested deeper than 64 levels (`MAX_DEPTH`).
    #[error("value nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The reserved marker `0xc1`.
    #[error("reserved MessagePack marker")]
    Reserved,
}

/// The kind of the next value, as far as the protocol cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Bin,
    Array,
    Map,
    Ext,
}

impl Kind {
    /// A short name for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Nil => "nil",
            Kind::Bool => "bool",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Str => "string",
            Kind::Bin => "binary",
            Kind::Array => "array",
            Kind::Map => "map",
            Kind::Ext => "extension",
        }
    }
}

fn kind_of(marker: Marker) -> Result<Kind, ReadError> {
    Ok(match marker {
        Marker::Null => Kind::Nil,
        Marker::True | Marker::False => Kind::Bool,
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => Kind::Int,
        Marker::F32 | Marker::F64 => Kind::Float,
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => Kind::Str,
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => Kind::Bin,
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => Kind::Array,
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => Kind::Map,
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => Kind::Ext,
        Marker::Reserved => return Err(ReadError::Reserved),
    })
}

/// A cursor over one MessagePack buffer.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// True when every byte was consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(ReadError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn be(&mut self, n: usize) -> Result<u64, ReadError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn peek_marker(&self) -> Result<Marker, ReadError> {
        self.buf
            .get(self.pos)
            .map(|b| Marker::from_u8(*b))
            .ok_or(ReadError::Truncated)
    }

    /// The kind of the next value, without consuming it.
    pub(crate) fn peek_kind(&self) -> Result<Kind, ReadError> {
        kind_of(self.peek_marker()?)
    }

    fn unexpected(&self, expected: &'static str) -> ReadError {
        let found = self.peek_kind().map(Kind::name).unwrap_or("nothing");
        ReadError::Unexpected { expected, found }
    }

    /// Consumes a nil if one is next; reports whether it did.
    pub(crate) fn try_nil(&mut self) -> Result<bool, ReadError> {
        if self.peek_marker()? == Marker::Null {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads a bool.
    pub(crate) fn read_bool(&mut self) -> Result<bool, ReadError> {
        match self.peek_marker()? {
            Marker::True => {
                self.pos += 1;
                Ok(true)
            }
            Marker::False => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.unexpected("bool")),
        }
    }

    /// Reads any integer that fits an `i64`.
    pub(crate) fn read_int(&mut self) -> Result<i64, ReadError> {
        let marker = self.peek_marker()?;
        let start = self.pos;
        self.pos += 1;
        let value = match marker {
            Marker::FixPos(n) => i64::from(n),
            Marker::FixNeg(n) => i64::from(n),
            Marker::U8 => self.be(1)? as i64,
            Marker::U16 => self.be(2)? as i64,
            Marker::U32 => self.be(4)? as i64,
            Marker::U64 => {
                let v = self.be(8)?;
                i64::try_from(v).map_err(|_| ReadError::Unexpected {
                    expected: "integer within i64",
                    found: "larger integer",
                })?
            }
            Marker::I8 => i64::from(self.be(1)? as u8 as i8),
            Marker::I16 => i64::from(self.be(2)? as u16 as i16),
            Marker::I32 => i64::from(self.be(4)? as u32 as i32),
            Marker::I64 => self.be(8)? as i64,
            _ => {
                self.pos = start;
                return Err(self.unexpected("integer"));
            }
        };
        Ok(value)
    }

    /// Reads a float, or an integer as a float.
    pub(crate) fn read_number(&mut self) -> Result<f64, ReadError> {
        match self.peek_marker()? {
            Marker::F32 => {
                self.pos += 1;
                Ok(f64::from(f32::from_bits(self.be(4)? as u32)))
            }
            Marker::F64 => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8)?))
            }
            _ => self
                .read_int()
                .map(|v| v as f64)
                .map_err(|_| self.unexpected("number")),
        }
    }

    /// Reads a string, borrowed from the buffer. On failure the reader stays where it was, so
    /// the value can still be skipped.
    pub(crate) fn read_str(&mut self) -> Result<&'a str, ReadError> {
        let start = self.pos;
        let read = self
            .read_str_bytes()
            .and_then(|b| std::str::from_utf8(b).map_err(|_| ReadError::InvalidUtf8));
        if read.is_err() {
            self.pos = start;
        }
        read
    }

    /// Reads a string's bytes without checking that they are UTF-8: for keys and other text
    /// that is only compared with ASCII or parsed byte by byte. On failure the reader stays
    /// where it was.
    pub(crate) fn read_str_bytes(&mut self) -> Result<&'a [u8], ReadError> {
        // Short strings (every key and name of the protocol) first, without the marker table.
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte & 0xe0 == 0xa0 {
                let len = usize::from(byte & 0x1f);
                let end = self.pos + 1 + len;
                let bytes = self
                    .buf
                    .get(self.pos + 1..end)
                    .ok_or(ReadError::Truncated)?;
                self.pos = end;
                return Ok(bytes);
            }
        }
        let start = self.pos;
        let read = self.read_long_str_bytes();
        if read.is_err() {
            self.pos = start;
        }
        read
    }

    fn read_long_str_bytes(&mut self) -> Result<&'a [u8], ReadError> {
        let len = match self.peek_marker()? {
            Marker::Str8 => {
                self.pos += 1;
                self.be(1)? as usize
            }
            Marker::Str16 => {
                self.pos += 1;
                self.be(2)? as usize
            }
            Marker::Str32 => {
                self.pos += 1;
                self.be(4)? as usize
            }
            _ => return Err(self.unexpected("string")),
        };
        self.take(len)
    }

    /// Reads a binary blob, borrowed from the buffer.
    pub(crate) fn read_bin(&mut self) -> Result<&'a [u8], ReadError> {
        let len = match self.peek_marker()? {
            Marker::Bin8 => 1,
            Marker::Bin16 => 2,
            Marker::Bin32 => 4,
            _ => return Err(self.unexpected("binary")),
        };
        self.pos += 1;
        let len = self.be(len)? as usize;
        self.take(len)
    }

    /// Reads an array header. The length is checked against the bytes left (every element
    /// takes at least one byte), so a caller may size a buffer by it.
    pub(crate) fn read_array_len(&mut self) -> Result<usize, ReadError> {
        let len = match self.peek_marker()? {
            Marker::FixArray(n) => {
                self.pos += 1;
                usize::from(n)
            }
            Marker::Array16 => {
                self.pos += 1;
                self.be(2)? as usize
            }
            Marker::Array32 => {
                self.pos += 1;
                self.be(4)? as usize
            }
            _ => return Err(self.unexpected("array")),
        };
        self.check_items(len)
    }

    /// Reads a map header, with the same check as [`Reader::read_array_len`].
    pub(crate) fn read_map_len(&mut self) -> Result<usize, ReadError> {
        let len = match self.peek_marker()? {
            Marker::FixMap(n) => {
                self.pos += 1;
                usize::from(n)
            }
            Marker::Map16 => {
                self.pos += 1;
                self.be(2)? as usize
            }
            Marker::Map32 => {
                self.pos += 1;
                self.be(4)? as usize
            }
            _ => return Err(self.unexpected("map")),
        };
        self.check_items(len.checked_mul(2).ok_or(ReadError::Truncated)?)
            .map(|_| len)
    }

    fn check_items(&self, items: usize) -> Result<usize, ReadError> {
        if items > self.buf.len() - self.pos {
            return Err(ReadError::Truncated);
        }
        Ok(items)
    }

    /// Skips the next value and returns its raw bytes. Nesting is followed with an explicit
    /// counter rather than recursion, so hostile depth cannot overflow the stack.
    pub(crate) fn read_raw(&mut self) -> Result<&'a [u8], ReadError> {
        let start = self.pos;
        // Values still to skip at each open level; a fixed array, so no allocation.
        let mut pending = [0usize; MAX_DEPTH + 1];
        pending[0] = 1;
        let mut level = 0usize;
        loop {
            if pending[level] == 0 {
                if level == 0 {
                    break;
                }
                level -= 1;
                continue;
            }
            pending[level] -= 1;
            let marker = self.peek_marker()?;
            let children = match kind_of(marker)? {
                Kind::Array => self.read_array_len()?,
                Kind::Map => self.read_map_len()? * 2,
                Kind::Nil | Kind::Bool => {
                    self.pos += 1;
                    0
                }
                Kind::Int => {
                    if self.read_int().is_err() {
                        self.skip_scalar(marker)?;
                    }
                    0
                }
                Kind::Float => {
                    self.read_number()?;
                    0
                }
                Kind::Str => {
                    let len = self.str_len(marker)?;
                    self.take(len)?;
                    0
                }
                Kind::Bin => {
                    self.read_bin()?;
                    0
                }
                Kind::Ext => {
                    self.skip_ext(marker)?;
                    0
                }
            };
            if children > 0 {
                if level + 1 >= pending.len() {
                    return Err(ReadError::TooDeep);
                }
                level += 1;
                pending[level] = children;
            }
        }
        Ok(&self.buf[start..self.pos])
    }

    fn skip_scalar(&mut self, marker: Marker) -> Result<(), ReadError> {
        // Only a u64 above i64::MAX gets here.
        if marker == Marker::U64 {
            self.pos += 1;
            self.take(8)?;
            return Ok(());
        }
        Err(self.unexpected("integer"))
    }

    fn str_len(&mut self, marker: Marker) -> Result<usize, ReadError> {
        self.pos += 1;
        Ok(match marker {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 => self.be(1)? as usize,
            Marker::Str16 => self.be(2)? as usize,
            _ => self.be(4)? as usize,
        })
    }

    fn skip_ext(&mut self, marker: Marker) -> Result<(), ReadError> {
        self.pos += 1;
        let len = match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be(1)? as usize,
            Marker::Ext16 => self.be(2)? as usize,
            _ => self.be(4)? as usize,
        };
        self.take(len + 1).map(|_| ())
    }
}

/// Appends MessagePack to a `Vec<u8>`. Writing to memory cannot fail, so these helpers
/// hide the `io::Result` that `rmp` returns.
pub(crate) mod write {
    /// A map header.
    pub(crate) fn map_len(out: &mut Vec<u8>, len: u32) {
        let _ = rmp::encode::write_map_len(out, len);
    }
    /// An array header.
    pub(crate) fn array_len(out: &mut Vec<u8>, len: u32) {
        let _ = rmp::encode::write_array_len(out, len);
    }
    /// A string.
    pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
        let _ = rmp::encode::write_str(out, s);
    }
    /// A binary blob.
    pub(crate) fn bin(out: &mut Vec<u8>, b: &[u8]) {
        let _ = rmp::encode::write_bin(out, b);
    }
    /// An integer in its shortest form.
    pub(crate) fn int(out: &mut Vec<u8>, v: i64) {
        let _ = rmp::encode::write_sint(out, v);
    }
    /// A float64.
    pub(crate) fn f64(out: &mut Vec<u8>, v: f64) {
        let _ = rmp::encode::write_f64(out, v);
    }
    /// A bool.
    pub(crate) fn bool(out: &mut Vec<u8>, v: bool) {
        let _ = rmp::encode::write_bool(out, v);
    }
    /// A nil.
    pub(crate) fn nil(out: &mut Vec<u8>) {
        let _ = rmp::encode::write_nil(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_skips_nested_values() {
        let mut out = Vec::new();
        write::array_len(&mut out, 2);
        write::map_len(&mut out, 1);
        write::str(&mut out, "a");
        write::int(&mut out, -300);
        write::bin(&mut out, &[1, 2, 3]);
        write::str(&mut out, "tail");
        let mut r = Reader::new(&out);
        let raw = r.read_raw().unwrap();
        assert_eq!(raw.len(), out.len() - 5);
        assert_eq!(r.read_str().unwrap(), "tail");
        assert!(r.is_empty());
    }

    #[test]
    fn huge_declared_length_is_refused_without_allocating() {
        // array32 declaring 4 billion elements, followed by nothing.
        let buf = [0xdd, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            Reader::new(&buf).read_array_len(),
            Err(ReadError::Truncated)
        );
        assert_eq!(Reader::new(&buf).read_raw(), Err(ReadError::Truncated));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut buf = vec![0x91; 10_000];
        buf.push(0xc0);
        assert_eq!(Reader::new(&buf).read_raw(), Err(ReadError::TooDeep));
    }

    #[test]
    fn integers_round_trip_in_every_width() {
        for v in [
            0,
            1,
            -1,
            -32,
            -33,
            127,
            128,
            255,
            256,
            65_536,
            -70_000,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write::int(&mut out, v);
            assert_eq!(Reader::new(&out).read_int().unwrap(), v);
        }
    }
}
