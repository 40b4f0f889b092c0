//! A general QMI element codec driven by description tables in the style of
//! the kernel's `struct qmi_elem_info` arrays (drivers/soc/qcom/qmi_encdec.c).
//!
//! Tables are flat, exactly like the C ones: an optional element is an
//! `OPT_FLAG` entry followed by its value entry with the same `tlv_type`; a
//! variable-length array is a `DATA_LEN` entry followed by the array entry.
//! The end of the slice plays the role of `QMI_EOTI`.
//!
//! Values are a small dynamic tree ([`Value`]); typed messages (see
//! `uaudio.rs`) convert to and from it. Decoding has two modes: strict (spec
//! §2.7 recommendation) and kernel (a faithful re-implementation of
//! `qmi_decode`, minus its out-of-bounds reads, which become
//! [`DecodeError::KernelOverRead`]).

use crate::error::{DecodeError, EncodeError};
use crate::tlv::{OPTIONAL_TLV_TYPE_START, TLV_HEADER_LEN};
use crate::DecodeMode;
use serde::{Deserialize, Serialize};

/// `enum qmi_elem_type`, same numeric values as the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// `QMI_EOTI`: end of table (optional in slices).
    Eoti = 0,
    /// `QMI_OPT_FLAG`: the `*_valid` byte of an optional element.
    OptFlag = 1,
    /// `QMI_DATA_LEN`: count of the following variable-length array.
    DataLen = 2,
    /// `QMI_UNSIGNED_1_BYTE`.
    Unsigned1 = 3,
    /// `QMI_UNSIGNED_2_BYTE`.
    Unsigned2 = 4,
    /// `QMI_UNSIGNED_4_BYTE`.
    Unsigned4 = 5,
    /// `QMI_UNSIGNED_8_BYTE`.
    Unsigned8 = 6,
    /// `QMI_SIGNED_2_BYTE_ENUM`.
    Signed2Enum = 7,
    /// `QMI_SIGNED_4_BYTE_ENUM`.
    Signed4Enum = 8,
    /// `QMI_STRUCT`: members described by `ei_array`.
    Struct = 9,
    /// `QMI_STRING`.
    String = 10,
}

impl DataType {
    fn is_scalar(self) -> bool {
        matches!(
            self,
            DataType::Unsigned1
                | DataType::Unsigned2
                | DataType::Unsigned4
                | DataType::Unsigned8
                | DataType::Signed2Enum
                | DataType::Signed4Enum
        )
    }
}

/// `enum qmi_array_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayType {
    /// `NO_ARRAY`: one element.
    NoArray,
    /// `STATIC_ARRAY`: exactly `elem_len` elements, no count on the wire.
    Static,
    /// `VAR_LEN_ARRAY`: count from the preceding `DATA_LEN` entry.
    VarLen,
}

/// One table entry, mirroring `struct qmi_elem_info` (without `offset`,
/// which only matters for C memory layout).
#[derive(Debug, Clone, Copy)]
pub struct ElemInfo {
    /// Element type.
    pub data_type: DataType,
    /// Max element count (arrays) or max string buffer size (strings).
    pub elem_len: u32,
    /// Wire size of one scalar; for `DATA_LEN` 1 selects a 1-byte count.
    pub elem_size: u32,
    /// Array kind.
    pub array_type: ArrayType,
    /// TLV type at top level, 0 (`QMI_COMMON_TLV_TYPE`) inside structs.
    pub tlv_type: u8,
    /// Member table of a `QMI_STRUCT`.
    pub ei_array: &'static [ElemInfo],
    /// C field name, for errors and display.
    pub name: &'static str,
}

impl ElemInfo {
    /// A scalar entry (`elem_size` = wire size).
    pub const fn scalar(data_type: DataType, size: u32, tlv_type: u8, name: &'static str) -> Self {
        ElemInfo {
            data_type,
            elem_len: 1,
            elem_size: size,
            array_type: ArrayType::NoArray,
            tlv_type,
            ei_array: &[],
            name,
        }
    }
    /// The `*_valid` flag of an optional element.
    pub const fn opt_flag(tlv_type: u8, name: &'static str) -> Self {
        Self::scalar(DataType::OptFlag, 1, tlv_type, name)
    }
    /// A `QMI_STRUCT` entry.
    pub const fn structure(tlv_type: u8, ei: &'static [ElemInfo], name: &'static str) -> Self {
        ElemInfo {
            data_type: DataType::Struct,
            elem_len: 1,
            elem_size: 0,
            array_type: ArrayType::NoArray,
            tlv_type,
            ei_array: ei,
            name,
        }
    }
    /// A `QMI_DATA_LEN` entry; `size` 1 gives a u8 count, otherwise u16.
    pub const fn data_len(size: u32, tlv_type: u8, name: &'static str) -> Self {
        Self::scalar(DataType::DataLen, size, tlv_type, name)
    }
    /// A `QMI_STRING` entry; `elem_len` is the C buffer size incl. NUL.
    pub const fn string(elem_len: u32, tlv_type: u8, name: &'static str) -> Self {
        ElemInfo {
            data_type: DataType::String,
            elem_len,
            elem_size: 1,
            array_type: ArrayType::NoArray,
            tlv_type,
            ei_array: &[],
            name,
        }
    }
    /// Turn this entry into an array of `elem_len` (static) or up to
    /// `elem_len` (var-len) elements.
    pub const fn array(mut self, array_type: ArrayType, elem_len: u32) -> Self {
        self.array_type = array_type;
        self.elem_len = elem_len;
        self
    }
}

/// A logical element: an optional `OPT_FLAG`, an optional `DATA_LEN`, and
/// the value entry, grouped the way the kernel walks them.
#[derive(Debug, Clone, Copy)]
pub struct Field<'t> {
    /// Preceded by an `OPT_FLAG` entry.
    pub optional: bool,
    /// Size of the `DATA_LEN` count (1 or 2) for var-len arrays.
    pub len_size: Option<u8>,
    /// The value entry.
    pub elem: &'t ElemInfo,
}

impl Field<'_> {
    /// TLV type (top level) of this field.
    pub fn tlv_type(&self) -> u8 {
        self.elem.tlv_type
    }
}

/// Iterator over the fields of a table.
pub struct Fields<'t> {
    table: &'t [ElemInfo],
    i: usize,
}

impl<'t> Iterator for Fields<'t> {
    type Item = Field<'t>;
    fn next(&mut self) -> Option<Field<'t>> {
        let mut e = self.table.get(self.i)?;
        let mut optional = false;
        let mut len_size = None;
        if e.data_type == DataType::OptFlag {
            optional = true;
            self.i += 1;
            e = self.table.get(self.i)?;
        }
        if e.data_type == DataType::DataLen {
            len_size = Some(if e.elem_size == 1 { 1 } else { 2 });
            self.i += 1;
            e = self.table.get(self.i)?;
        }
        if e.data_type == DataType::Eoti {
            return None;
        }
        self.i += 1;
        Some(Field {
            optional,
            len_size,
            elem: e,
        })
    }
}

/// Group a table's entries into fields.
pub fn fields(table: &[ElemInfo]) -> Fields<'_> {
    Fields { table, i: 0 }
}

/// Check that a table is something this codec (and the kernel) handles:
/// `DATA_LEN` precedes exactly the var-len arrays, strings are not arrays,
/// structs have members, `OPT_FLAG` only at top level, scalar sizes match.
pub fn validate_table(table: &[ElemInfo], top_level: bool) -> Result<(), String> {
    let mut seen = Vec::new();
    for (i, e) in table.iter().enumerate() {
        let next = table.get(i + 1);
        match e.data_type {
            DataType::OptFlag => {
                if !top_level {
                    return Err(format!("{}: OPT_FLAG inside a struct", e.name));
                }
                if next.map(|n| n.tlv_type) != Some(e.tlv_type) {
                    return Err(format!("{}: OPT_FLAG not followed by its value", e.name));
                }
            }
            DataType::DataLen if !next.is_some_and(|n| n.array_type == ArrayType::VarLen) => {
                return Err(format!(
                    "{}: DATA_LEN not followed by a var-len array",
                    e.name
                ));
            }
            _ => {}
        }
    }
    for f in fields(table) {
        let e = f.elem;
        if top_level {
            if seen.contains(&e.tlv_type) {
                return Err(format!("{}: duplicate tlv_type {:#x}", e.name, e.tlv_type));
            }
            seen.push(e.tlv_type);
            if f.optional != (e.tlv_type >= OPTIONAL_TLV_TYPE_START) {
                return Err(format!("{}: optional flag does not match tlv_type", e.name));
            }
        } else if e.tlv_type != 0 {
            return Err(format!("{}: struct member with non-zero tlv_type", e.name));
        }
        if (e.array_type == ArrayType::VarLen) != f.len_size.is_some() {
            return Err(format!("{}: var-len array without DATA_LEN", e.name));
        }
        if f.len_size == Some(1) && e.elem_len > 255 {
            return Err(format!("{}: 1-byte count but elem_len > 255", e.name));
        }
        match e.data_type {
            DataType::String if e.array_type != ArrayType::NoArray => {
                return Err(format!("{}: arrays of strings are not supported", e.name));
            }
            DataType::Struct => {
                if e.ei_array.is_empty() {
                    return Err(format!("{}: struct without members", e.name));
                }
                validate_table(e.ei_array, false)?;
            }
            t if t.is_scalar() => {
                let ok = match t {
                    DataType::Unsigned1 => e.elem_size == 1,
                    DataType::Unsigned2 | DataType::Signed2Enum => e.elem_size == 2,
                    DataType::Unsigned4 | DataType::Signed4Enum => e.elem_size == 4,
                    _ => e.elem_size == 8,
                };
                if !ok {
                    return Err(format!("{}: scalar elem_size {}", e.name, e.elem_size));
                }
            }
            DataType::String => {}
            other => return Err(format!("{}: unexpected entry {:?}", e.name, other)),
        }
    }
    Ok(())
}

/// A decoded (or to-be-encoded) value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// Any scalar, raw bits zero-extended (signed enums: two's complement).
    Scalar(u64),
    /// Struct members, one per field of the member table.
    Struct(Vec<Value>),
    /// Array elements (static: `elem_len` of them; var-len: the count).
    Array(Vec<Value>),
    /// String bytes, without NUL.
    String(Vec<u8>),
}

/// The all-zero value of one element (what `kzalloc` gives the C decoder).
pub fn zero_elem(e: &ElemInfo) -> Value {
    match e.data_type {
        DataType::Struct => Value::Struct(fields(e.ei_array).map(zero_field).collect()),
        DataType::String => Value::String(Vec::new()),
        _ => Value::Scalar(0),
    }
}

/// The all-zero value of a field (static arrays are filled, var-len empty).
pub fn zero_field(f: Field<'_>) -> Value {
    match f.elem.array_type {
        ArrayType::NoArray => zero_elem(f.elem),
        ArrayType::Static => Value::Array(vec![zero_elem(f.elem); f.elem.elem_len as usize]),
        ArrayType::VarLen => Value::Array(Vec::new()),
    }
}

/// Wire size of one element if it is fixed (no strings or var-len arrays).
pub fn elem_wire_size(e: &ElemInfo) -> Option<usize> {
    match e.data_type {
        DataType::Struct => fields(e.ei_array).map(field_wire_size).sum(),
        DataType::String => None,
        _ => Some(e.elem_size as usize),
    }
}

/// Wire size of a field if it is fixed.
pub fn field_wire_size(f: Field<'_>) -> Option<usize> {
    match f.elem.array_type {
        ArrayType::NoArray => elem_wire_size(f.elem),
        ArrayType::Static => elem_wire_size(f.elem).map(|s| s * f.elem.elem_len as usize),
        ArrayType::VarLen => None,
    }
}

// ---------------------------------------------------------------- encoding

/// Encode the TLVs of a message: `values` has one entry per top-level field
/// (`None` = absent optional). Output matches `qmi_encode`: table order,
/// exact lengths.
pub fn encode_tlvs(
    table: &[ElemInfo],
    values: &[Option<Value>],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let mut n = 0;
    for (f, v) in fields(table).zip(values) {
        n += 1;
        let Some(v) = v else {
            if f.optional {
                continue;
            }
            return Err(EncodeError::MissingMandatory {
                name: f.elem.name,
                tlv_type: f.tlv_type(),
            });
        };
        let hdr = out.len();
        out.extend_from_slice(&[f.tlv_type(), 0, 0]);
        encode_field(f, v, 1, out)?;
        let len = out.len() - hdr - TLV_HEADER_LEN;
        let len16 = u16::try_from(len).map_err(|_| EncodeError::TlvTooLong {
            tlv_type: f.tlv_type(),
            len,
        })?;
        out[hdr + 1..hdr + 3].copy_from_slice(&len16.to_le_bytes());
    }
    if n != values.len() || fields(table).count() != n {
        return Err(EncodeError::Shape {
            name: "message",
            reason: format!(
                "{} values for {} fields",
                values.len(),
                fields(table).count()
            ),
        });
    }
    Ok(())
}

fn shape(name: &'static str, reason: &str) -> EncodeError {
    EncodeError::Shape {
        name,
        reason: reason.to_string(),
    }
}

fn encode_field(f: Field<'_>, v: &Value, level: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let e = f.elem;
    match e.array_type {
        ArrayType::NoArray => encode_elem(e, v, level, out),
        ArrayType::Static | ArrayType::VarLen => {
            let Value::Array(items) = v else {
                return Err(shape(e.name, "expected an array"));
            };
            if e.array_type == ArrayType::Static {
                if items.len() != e.elem_len as usize {
                    return Err(shape(e.name, "static array of wrong length"));
                }
            } else {
                let Some(sz) = f.len_size else {
                    return Err(shape(e.name, "var-len array without DATA_LEN"));
                };
                let max = if sz == 1 {
                    e.elem_len.min(255)
                } else {
                    e.elem_len.min(65535)
                };
                if items.len() > max as usize {
                    return Err(EncodeError::CountTooLarge {
                        name: e.name,
                        count: items.len(),
                        max,
                    });
                }
                let c = items.len() as u16;
                out.extend_from_slice(&c.to_le_bytes()[..sz as usize]);
            }
            items.iter().try_for_each(|x| encode_elem(e, x, level, out))
        }
    }
}

fn encode_elem(e: &ElemInfo, v: &Value, level: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match (e.data_type, v) {
        (DataType::Struct, Value::Struct(members)) => {
            if members.len() != fields(e.ei_array).count() {
                return Err(shape(e.name, "wrong number of struct members"));
            }
            for (mf, mv) in fields(e.ei_array).zip(members) {
                encode_field(mf, mv, level + 1, out)?;
            }
            Ok(())
        }
        (DataType::String, Value::String(s)) => {
            if s.len() >= e.elem_len as usize {
                return Err(EncodeError::StringTooLong {
                    name: e.name,
                    len: s.len(),
                    max: e.elem_len,
                });
            }
            if level > 1 {
                let n = s.len() as u16;
                let sz = if e.elem_len <= 255 { 1 } else { 2 };
                out.extend_from_slice(&n.to_le_bytes()[..sz]);
            }
            out.extend_from_slice(s);
            Ok(())
        }
        (t, Value::Scalar(x)) if t.is_scalar() => {
            let size = e.elem_size.min(8);
            if size < 8 && (x >> (8 * size)) != 0 {
                return Err(EncodeError::ScalarTooWide {
                    name: e.name,
                    value: *x,
                    size,
                });
            }
            out.extend_from_slice(&x.to_le_bytes()[..size as usize]);
            Ok(())
        }
        _ => Err(shape(e.name, "value kind does not match data_type")),
    }
}

// ---------------------------------------------------------------- decoding

/// Decode the TLV area of a message. `payload` is the datagram minus its
/// 7-byte header; `base` is added to all error offsets (normally 7).
/// Returns one slot per top-level field: `None` for an absent optional.
/// In kernel mode absent mandatory fields come back as zero values.
pub fn decode_tlvs(
    table: &[ElemInfo],
    payload: &[u8],
    base: usize,
    mode: DecodeMode,
) -> Result<Vec<Option<Value>>, DecodeError> {
    match mode {
        DecodeMode::Strict => decode_strict(table, payload, base),
        DecodeMode::Kernel => KernelDecoder {
            buf: payload,
            base,
            over: None,
            tlv_type: 0,
            fill: 0,
        }
        .decode(table),
    }
}

/// The first value bytes the kernel decoder read past the end: `(offset, bytes)`.
pub type OverRead = Option<(usize, usize)>;

/// The kernel decoder run to its end over a data over-read: value bytes past the
/// end of `payload` read as `fill` (whatever memory follows the buffer), and the
/// first such read is returned as `(offset, bytes)` beside the values. An
/// over-read of bytes that steer the decoder (a TLV header, a count) still fails
/// with [`DecodeError::KernelOverRead`].
pub fn decode_tlvs_kernel_overread(
    table: &[ElemInfo],
    payload: &[u8],
    base: usize,
    fill: u8,
) -> Result<(Vec<Option<Value>>, OverRead), DecodeError> {
    let mut d = KernelDecoder {
        buf: payload,
        base,
        over: None,
        tlv_type: 0,
        fill,
    };
    let out = d.decode_values(table)?;
    Ok((out, d.over.map(|(p, n)| (base + p, n))))
}

fn find_field(table: &[ElemInfo], t: u8) -> Option<(usize, Field<'_>)> {
    fields(table).enumerate().find(|(_, f)| f.tlv_type() == t)
}

fn decode_strict(
    table: &[ElemInfo],
    payload: &[u8],
    base: usize,
) -> Result<Vec<Option<Value>>, DecodeError> {
    let mut out: Vec<Option<Value>> = fields(table).map(|_| None).collect();
    let mut pos = 0;
    while pos < payload.len() {
        let off = base + pos;
        let avail = payload.len() - pos;
        if avail < TLV_HEADER_LEN {
            return Err(DecodeError::TruncatedTlvHeader {
                offset: off,
                available: avail,
            });
        }
        let t = payload[pos];
        let len16 = u16::from_le_bytes([payload[pos + 1], payload[pos + 2]]);
        let len = len16 as usize;
        let vstart = pos + TLV_HEADER_LEN;
        if payload.len() - vstart < len {
            return Err(DecodeError::TruncatedTlvValue {
                tlv_type: t,
                offset: off,
                length: len16,
                available: payload.len() - vstart,
            });
        }
        let value = &payload[vstart..vstart + len];
        pos = vstart + len;
        let Some((i, f)) = find_field(table, t) else {
            if t < OPTIONAL_TLV_TYPE_START {
                return Err(DecodeError::UnknownMandatory {
                    tlv_type: t,
                    offset: off,
                });
            }
            continue;
        };
        if out[i].is_some() {
            return Err(DecodeError::DuplicateTlv {
                tlv_type: t,
                offset: off,
            });
        }
        if let Some(sz) = field_wire_size(f) {
            if sz != len {
                return Err(DecodeError::BadLength {
                    tlv_type: t,
                    offset: off,
                    expected: sz,
                    found: len,
                });
            }
        }
        let mut c = StrictCursor {
            buf: value,
            pos: 0,
            base: base + vstart,
            tlv_type: t,
            tlv_off: off,
        };
        let v = c.field(f, 1)?;
        if c.pos != len {
            return Err(DecodeError::TrailingBytes {
                tlv_type: t,
                offset: off,
                used: c.pos,
                length: len,
            });
        }
        out[i] = Some(v);
    }
    for (f, v) in fields(table).zip(&out) {
        if !f.optional && v.is_none() {
            return Err(DecodeError::MissingMandatory {
                tlv_type: f.tlv_type(),
                name: f.elem.name,
            });
        }
    }
    Ok(out)
}

struct StrictCursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    tlv_type: u8,
    tlv_off: usize,
}

impl<'a> StrictCursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(DecodeError::ValueOverrun {
                tlv_type: self.tlv_type,
                offset: self.tlv_off,
                length: self.buf.len(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        let s = self.take(n)?;
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(s);
        Ok(u64::from_le_bytes(b))
    }

    fn field(&mut self, f: Field<'_>, level: u32) -> Result<Value, DecodeError> {
        let e = f.elem;
        let count = match e.array_type {
            ArrayType::NoArray => return self.elem(e, level),
            ArrayType::Static => e.elem_len,
            ArrayType::VarLen => {
                let off = self.base + self.pos;
                let c = self.uint(f.len_size.unwrap_or(2) as usize)? as u32;
                if c > e.elem_len {
                    return Err(DecodeError::CountTooLarge {
                        tlv_type: self.tlv_type,
                        offset: off,
                        count: c,
                        max: e.elem_len,
                    });
                }
                c
            }
        };
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(self.elem(e, level)?);
        }
        Ok(Value::Array(items))
    }

    fn elem(&mut self, e: &ElemInfo, level: u32) -> Result<Value, DecodeError> {
        match e.data_type {
            DataType::Struct => {
                let mut m = Vec::new();
                for mf in fields(e.ei_array) {
                    m.push(self.field(mf, level + 1)?);
                }
                Ok(Value::Struct(m))
            }
            DataType::String => {
                let off = self.base + self.pos;
                let len = if level == 1 {
                    (self.buf.len() - self.pos) as u32
                } else {
                    self.uint(if e.elem_len <= 255 { 1 } else { 2 })? as u32
                };
                if len >= e.elem_len {
                    return Err(DecodeError::StringTooLong {
                        tlv_type: self.tlv_type,
                        offset: off,
                        len,
                        max: e.elem_len,
                    });
                }
                Ok(Value::String(self.take(len as usize)?.to_vec()))
            }
            _ => Ok(Value::Scalar(self.uint(e.elem_size.min(8) as usize)?)),
        }
    }
}

/// Re-implementation of the kernel's `qmi_decode` family. Positions may run
/// past the buffer like the C pointers do; actual reads there are never
/// performed: a read of data bytes past the end is remembered in `over`
/// (its value cannot change the control flow), a read of a length or count
/// past the end fails at once with `KernelOverRead`.
struct KernelDecoder<'a> {
    buf: &'a [u8],
    base: usize,
    over: Option<(usize, usize)>,
    tlv_type: u8,
    /// the value of a byte read past the end
    fill: u8,
}

impl KernelDecoder<'_> {
    fn overread(&self, pos: usize, n: usize) -> DecodeError {
        DecodeError::KernelOverRead {
            offset: self.base.saturating_add(pos),
            needed: n,
            len: self.base + self.buf.len(),
        }
    }

    /// Bytes that steer the decoder (TLV header, counts): must exist.
    fn ctrl(&self, pos: usize, n: usize) -> Result<u64, DecodeError> {
        match self.buf.get(pos..pos.saturating_add(n)) {
            Some(s) => {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(s);
                Ok(u64::from_le_bytes(b))
            }
            None => Err(self.overread(pos, n)),
        }
    }

    /// Data bytes: past the end they read as zero and the over-read is noted.
    fn data(&mut self, pos: usize, n: usize) -> u64 {
        match self.buf.get(pos..pos.saturating_add(n)) {
            Some(s) => {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(s);
                u64::from_le_bytes(b)
            }
            None => {
                self.note_over(pos, n);
                let mut b = [self.fill; 8];
                for (k, x) in b.iter_mut().enumerate().take(n) {
                    if let Some(&v) = self.buf.get(pos + k) {
                        *x = v;
                    }
                }
                b[n..].fill(0);
                u64::from_le_bytes(b)
            }
        }
    }

    fn note_over(&mut self, pos: usize, n: usize) {
        if self.over.is_none() {
            self.over = Some((pos, n));
        }
    }

    fn decode(mut self, table: &[ElemInfo]) -> Result<Vec<Option<Value>>, DecodeError> {
        let out = self.decode_values(table)?;
        if let Some((p, n)) = self.over {
            return Err(self.overread(p, n));
        }
        Ok(out)
    }

    fn decode_values(&mut self, table: &[ElemInfo]) -> Result<Vec<Option<Value>>, DecodeError> {
        let mut out: Vec<Option<Value>> = fields(table)
            .map(|f| {
                if f.optional {
                    None
                } else {
                    Some(zero_field(f))
                }
            })
            .collect();
        let mut pos = 0usize;
        while pos < self.buf.len() {
            let hdr = self.ctrl(pos, TLV_HEADER_LEN)?;
            let t = hdr as u8;
            let tlv_len = (hdr >> 8) as u32;
            let off = pos;
            pos += TLV_HEADER_LEN;
            let Some((i, f)) = find_field(table, t) else {
                if t < OPTIONAL_TLV_TYPE_START {
                    return Err(DecodeError::UnknownMandatory {
                        tlv_type: t,
                        offset: self.base + off,
                    });
                }
                pos = pos.saturating_add(tlv_len as usize);
                continue;
            };
            self.tlv_type = t;
            let slot = out[i].get_or_insert_with(|| zero_field(f));
            let rc = self.field(f, slot, pos, tlv_len, 1)?;
            pos = pos.saturating_add(rc);
        }
        Ok(out)
    }

    /// One entry of the `qmi_decode` loop at level `level`, budget `tlv_len`.
    fn field(
        &mut self,
        f: Field<'_>,
        slot: &mut Value,
        pos: usize,
        mut tlv_len: u32,
        level: u32,
    ) -> Result<usize, DecodeError> {
        let e = f.elem;
        let mut consumed = 0usize;
        let count = match e.array_type {
            ArrayType::NoArray => 1,
            ArrayType::Static => e.elem_len,
            ArrayType::VarLen => {
                let sz = f.len_size.unwrap_or(2) as usize;
                let c = self.ctrl(pos, sz)? as u32;
                tlv_len = tlv_len.wrapping_sub(sz as u32);
                consumed += sz;
                if c > e.elem_len {
                    return Err(DecodeError::CountTooLarge {
                        tlv_type: self.tlv_type,
                        offset: self.base + pos,
                        count: c,
                        max: e.elem_len,
                    });
                }
                c
            }
        };
        let items: &mut [Value] = match e.array_type {
            ArrayType::NoArray => std::slice::from_mut(slot),
            _ => {
                if !matches!(slot, Value::Array(_)) {
                    *slot = Value::Array(Vec::new());
                }
                let Value::Array(v) = slot else {
                    unreachable!("slot was just made an array")
                };
                v.resize(count as usize, zero_elem(e));
                &mut v[..]
            }
        };
        let start = pos + consumed;
        let rc = match e.data_type {
            DataType::Struct => self.struct_elem(e, items, start, count, tlv_len, level + 1)?,
            DataType::String => match items.first_mut() {
                Some(it) => self.string_elem(e, it, start, tlv_len, level)?,
                None => 0,
            },
            _ => {
                let sz = e.elem_size.min(8) as usize;
                for (k, it) in items.iter_mut().enumerate() {
                    *it = Value::Scalar(self.data(start + k * sz, sz));
                }
                count as usize * sz
            }
        };
        Ok(consumed + rc)
    }

    /// `qmi_decode_struct_elem`.
    fn struct_elem(
        &mut self,
        e: &ElemInfo,
        items: &mut [Value],
        pos: usize,
        count: u32,
        tlv_len: u32,
        level: u32,
    ) -> Result<usize, DecodeError> {
        let budget = tlv_len as u64;
        let mut decoded: u64 = 0;
        let mut i = 0u32;
        while i < count && decoded < budget {
            let item = &mut items[i as usize];
            if !matches!(item, Value::Struct(_)) {
                *item = zero_elem(e);
            }
            let rc = self.members(
                e.ei_array,
                item,
                pos + decoded as usize,
                budget - decoded,
                level,
            )?;
            decoded += rc as u64;
            i += 1;
        }
        if (level <= 2 && decoded != budget) || (level > 2 && (i < count || decoded > budget)) {
            return Err(DecodeError::StructFault {
                tlv_type: self.tlv_type,
                offset: self.base + pos,
                budget: budget as usize,
                consumed: decoded as usize,
            });
        }
        Ok(decoded as usize)
    }

    /// `qmi_decode` at level >= 2: members until the table ends or the
    /// budget is used up (the member-boundary quirk comes from here).
    fn members(
        &mut self,
        table: &[ElemInfo],
        slot: &mut Value,
        pos: usize,
        in_buf_len: u64,
        level: u32,
    ) -> Result<usize, DecodeError> {
        let Value::Struct(members) = slot else {
            return Ok(0);
        };
        let mut decoded: u64 = 0;
        for (mf, mv) in fields(table).zip(members.iter_mut()) {
            if decoded >= in_buf_len {
                break;
            }
            let tlv_len = (in_buf_len - decoded) as u32;
            decoded += self.field(mf, mv, pos + decoded as usize, tlv_len, level)? as u64;
        }
        Ok(decoded as usize)
    }

    /// `qmi_decode_string_elem`.
    fn string_elem(
        &mut self,
        e: &ElemInfo,
        slot: &mut Value,
        pos: usize,
        tlv_len: u32,
        level: u32,
    ) -> Result<usize, DecodeError> {
        let (len, prefix) = if level == 1 {
            (tlv_len, 0)
        } else {
            let sz = if e.elem_len <= 255 { 1 } else { 2 };
            (self.ctrl(pos, sz)? as u32, sz)
        };
        if len >= e.elem_len {
            return Err(DecodeError::StringTooLong {
                tlv_type: self.tlv_type,
                offset: self.base + pos,
                len,
                max: e.elem_len,
            });
        }
        if len > tlv_len {
            return Err(DecodeError::StringFault {
                tlv_type: self.tlv_type,
                offset: self.base + pos,
                len,
                budget: tlv_len,
            });
        }
        let start = pos + prefix;
        let end = start + len as usize;
        let have_end = end.min(self.buf.len());
        let bytes = self.buf[start.min(have_end)..have_end].to_vec();
        if end > self.buf.len() {
            let from = start.max(self.buf.len());
            self.note_over(from, end - from);
        }
        *slot = Value::String(bytes);
        Ok(prefix + len as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A made-up table exercising everything uaudio does not use.
    static INNER: [ElemInfo; 4] = [
        ElemInfo::scalar(DataType::Unsigned2, 2, 0, "id"),
        ElemInfo::string(8, 0, "label"),
        ElemInfo::data_len(1, 0, "vals_len"),
        ElemInfo::scalar(DataType::Unsigned1, 1, 0, "vals").array(ArrayType::VarLen, 4),
    ];
    static MSG: [ElemInfo; 8] = [
        ElemInfo::string(16, 0x01, "name"),
        ElemInfo::scalar(DataType::Unsigned4, 4, 0x02, "fixed").array(ArrayType::Static, 2),
        ElemInfo::opt_flag(0x10, "list_valid"),
        ElemInfo::data_len(2, 0x10, "list_len"),
        ElemInfo::structure(0x10, &INNER, "list").array(ArrayType::VarLen, 3),
        ElemInfo::opt_flag(0x11, "big_valid"),
        ElemInfo::scalar(DataType::Unsigned8, 8, 0x11, "big"),
        ElemInfo::scalar(DataType::Eoti, 0, 0, "eoti"),
    ];

    fn sample() -> Vec<Option<Value>> {
        vec![
            Some(Value::String(b"abc".to_vec())),
            Some(Value::Array(vec![
                Value::Scalar(1),
                Value::Scalar(0xdeadbeef),
            ])),
            Some(Value::Array(vec![Value::Struct(vec![
                Value::Scalar(0x0102),
                Value::String(b"xy".to_vec()),
                Value::Array(vec![Value::Scalar(7), Value::Scalar(8)]),
            ])])),
            None,
        ]
    }

    #[test]
    fn table_is_valid() {
        validate_table(&MSG, true).unwrap();
        assert_eq!(fields(&MSG).count(), 4);
    }

    #[test]
    fn generic_roundtrip_exact_bytes() {
        let mut out = Vec::new();
        encode_tlvs(&MSG, &sample(), &mut out).unwrap();
        #[rustfmt::skip]
        let expect = [
            0x01, 3, 0, b'a', b'b', b'c',
            0x02, 8, 0, 1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde,
            0x10, 10, 0, 1, 0, 0x02, 0x01, 2, b'x', b'y', 2, 7, 8,
        ];
        assert_eq!(out, expect);
        for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
            assert_eq!(decode_tlvs(&MSG, &out, 7, mode).unwrap(), sample());
        }
    }

    #[test]
    fn zero_count_is_count_only() {
        let mut v = sample();
        v[2] = Some(Value::Array(vec![]));
        let mut out = Vec::new();
        encode_tlvs(&MSG, &v, &mut out).unwrap();
        assert_eq!(&out[out.len() - 5..], &[0x10, 2, 0, 0, 0]);
        assert_eq!(decode_tlvs(&MSG, &out, 0, DecodeMode::Strict).unwrap(), v);
    }

    #[test]
    fn string_limits() {
        let mut v = sample();
        v[0] = Some(Value::String(vec![b'a'; 16]));
        let mut out = Vec::new();
        assert!(matches!(
            encode_tlvs(&MSG, &v, &mut out),
            Err(EncodeError::StringTooLong { .. })
        ));
        // top-level string of length 16 (>= elem_len) rejected in both modes
        let bytes = [0x01, 16, 0]
            .iter()
            .copied()
            .chain([b'a'; 16])
            .collect::<Vec<_>>();
        for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
            let e = decode_tlvs(&MSG, &bytes, 0, mode).unwrap_err();
            assert!(
                matches!(e, DecodeError::StringTooLong { len: 16, .. }),
                "{e:?}"
            );
            assert_eq!(e.kernel_errno(), Some(-crate::error::ETOOSMALL));
        }
    }

    #[test]
    fn count_too_large() {
        // list count 4 > 3
        let bytes = [0x10, 2, 0, 4, 0];
        for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
            let e = decode_tlvs(&MSG, &bytes, 0, mode).unwrap_err();
            assert!(
                matches!(
                    e,
                    DecodeError::CountTooLarge {
                        count: 4,
                        max: 3,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[test]
    fn kernel_scalar_overread() {
        // fixed array declared with length 1 but kernel reads 8 bytes
        let bytes = [0x02, 1, 0, 5];
        let e = decode_tlvs(&MSG, &bytes, 7, DecodeMode::Kernel).unwrap_err();
        assert!(
            matches!(e, DecodeError::KernelOverRead { offset: 10, .. }),
            "{e:?}"
        );
        let e = decode_tlvs(&MSG, &bytes, 7, DecodeMode::Strict).unwrap_err();
        assert!(matches!(
            e,
            DecodeError::BadLength {
                expected: 8,
                found: 1,
                ..
            }
        ));
    }

    #[test]
    fn kernel_truncated_header_is_overread() {
        let e = decode_tlvs(&MSG, &[0x10, 1], 7, DecodeMode::Kernel).unwrap_err();
        assert_eq!(
            e,
            DecodeError::KernelOverRead {
                offset: 7,
                needed: 3,
                len: 9
            }
        );
    }
}
