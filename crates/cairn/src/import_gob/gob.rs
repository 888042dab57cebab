//! A reader for Go `encoding/gob` streams: the type definitions and the first value, as a
//! tree that borrows strings and byte slices from the input.
//!
//! The wire format is documented in Go's `src/encoding/gob/doc.go`. A stream is a sequence
//! of messages, each an unsigned byte count followed by a signed type id: a negative id
//! defines the type `-id` (the message holds a `wireType` value), a positive one is a value
//! of that type. Type definitions may refer to types defined later; only the value needs
//! them all. Go's `Decoder.Decode` reads one value and leaves the rest of the stream, and so
//! does [`read_stream`].
//!
//! Supported: the basic types, arrays, slices, maps, structs and `GobEncoder`,
//! `BinaryMarshaler` and `TextMarshaler` types (their bytes are kept as they are). Interface
//! values are rejected: skipping one needs the registered name's type, and the reference's
//! persistence file holds none.
//!
//! Bounds, for arbitrary input: every length and count is checked against the bytes left in
//! its message before it is used, every element takes at least one input byte, and vectors
//! grow as elements arrive, so memory is proportional to the input: a tree node is at most
//! 64 bytes (a map entry, whose key and value take at least two input bytes), so the tree
//! and its vectors' spare capacity stay within about 64 bytes per input byte. Values nest
//! at most [`DEPTH_MAX`] deep, the only recursion.

use std::collections::HashMap;

use super::ImportError;

/// How deeply values may nest (a map in a struct in a map is depth 3).
pub(super) const DEPTH_MAX: usize = 64;

/// The predefined type ids this reader knows (doc.go, "Their ids are").
pub(super) const BOOL: i64 = 1;
pub(super) const INT: i64 = 2;
pub(super) const UINT: i64 = 3;
pub(super) const FLOAT: i64 = 4;
pub(super) const BYTES: i64 = 5;
pub(super) const STRING: i64 = 6;
pub(super) const COMPLEX: i64 = 7;
pub(super) const INTERFACE: i64 = 8;
/// Ids up to this one are predefined (the basic types and gob's own `wireType` family); a
/// stream may not define them.
const PREDEFINED_MAX: i64 = 64;

/// A type the stream defined.
#[derive(Debug)]
pub(super) enum WireType<'a> {
    Array {
        name: &'a [u8],
        elem: i64,
        len: u64,
    },
    Slice {
        name: &'a [u8],
        elem: i64,
    },
    Struct {
        name: &'a [u8],
        fields: Vec<Field<'a>>,
    },
    Map {
        name: &'a [u8],
        key: i64,
        elem: i64,
    },
    /// A `GobEncoder`, `BinaryMarshaler` or `TextMarshaler`: its value is opaque bytes.
    Encoded {
        name: &'a [u8],
    },
}

/// One field of a struct type, in the sender's field order.
#[derive(Debug)]
pub(super) struct Field<'a> {
    pub(super) name: &'a [u8],
    pub(super) type_id: i64,
}

/// A decoded value. Strings are `Bytes`: gob does not promise UTF-8.
#[derive(Debug, PartialEq)]
pub(super) enum Value<'a> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Complex(f64, f64),
    Bytes(&'a [u8]),
    /// An array or a slice.
    List(Vec<Value<'a>>),
    /// Entries in stream order; a later duplicate key is for the reader to resolve.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// The fields that were sent (gob omits zero values), by field number, ascending.
    Struct(Vec<(usize, Value<'a>)>),
    /// The bytes of a `GobEncoder`, `BinaryMarshaler` or `TextMarshaler`.
    Encoded(&'a [u8]),
}

/// What [`read_stream`] found: every type defined before the first value, and that value.
#[derive(Debug)]
pub(super) struct Stream<'a> {
    pub(super) types: HashMap<i64, WireType<'a>>,
    pub(super) type_id: i64,
    pub(super) value: Value<'a>,
}

impl Stream<'_> {
    /// The name the sender gave type `id`, if it gave one.
    pub(super) fn type_name_if_named(&self, id: i64) -> Option<String> {
        let name = match self.types.get(&id)? {
            WireType::Array { name, .. }
            | WireType::Slice { name, .. }
            | WireType::Struct { name, .. }
            | WireType::Map { name, .. }
            | WireType::Encoded { name } => name,
        };
        (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
    }

    /// A readable name for a type id: the sender's name, else its Go-like shape.
    pub(super) fn type_name(&self, id: i64) -> String {
        let basic = match id {
            BOOL => "bool",
            INT => "int",
            UINT => "uint",
            FLOAT => "float",
            BYTES => "[]byte",
            STRING => "string",
            COMPLEX => "complex",
            INTERFACE => "interface",
            _ => "",
        };
        if !basic.is_empty() {
            return basic.to_owned();
        }
        let Some(wire) = self.types.get(&id) else {
            return format!("undefined type {id}");
        };
        let (name, kind) = match wire {
            WireType::Array { name, .. } => (name, "array"),
            WireType::Slice { name, .. } => (name, "slice"),
            WireType::Struct { name, .. } => (name, "struct"),
            WireType::Map { name, .. } => (name, "map"),
            WireType::Encoded { name } => (name, "encoded"),
        };
        if name.is_empty() {
            format!("unnamed {kind} type {id}")
        } else {
            String::from_utf8_lossy(name).into_owned()
        }
    }
}

/// Reads type definitions up to the first value, and that value. Bytes after the value's
/// message are not read, as Go's `Decoder.Decode` leaves them.
pub(super) fn read_stream(input: &[u8]) -> Result<Stream<'_>, ImportError> {
    let mut types = HashMap::new();
    let mut reader = Reader {
        input,
        pos: 0,
        end: input.len(),
    };
    loop {
        if reader.pos == input.len() {
            return Err(ImportError::NoValue {
                types_defined: types.len(),
            });
        }
        let message_offset = reader.pos;
        reader.end = input.len();
        let length = reader.length()?;
        if length == 0 {
            return Err(ImportError::Corrupt {
                offset: message_offset,
                reason: "empty message",
            });
        }
        reader.end = reader.pos + length;
        let id_offset = reader.pos;
        let id = reader.int()?;
        if id < 0 {
            let defined = id.checked_neg().unwrap_or(i64::MAX);
            let wire = read_wire_type(&mut reader)?;
            if reader.pos != reader.end {
                return Err(ImportError::Corrupt {
                    offset: reader.pos,
                    reason: "extra data after a type definition",
                });
            }
            if defined <= PREDEFINED_MAX || types.contains_key(&defined) {
                return Err(ImportError::DuplicateType {
                    offset: id_offset,
                    id: defined,
                });
            }
            types.insert(defined, wire);
        } else if id == 0 {
            return Err(ImportError::Corrupt {
                offset: id_offset,
                reason: "type id 0",
            });
        } else {
            let value = read_top_value(&mut reader, &types, id)?;
            return Ok(Stream {
                types,
                type_id: id,
                value,
            });
        }
    }
}

/// A value at the top level of a message: a struct as such, anything else as a struct's
/// field 0 (a zero delta, then the value).
fn read_top_value<'a>(
    reader: &mut Reader<'a>,
    types: &HashMap<i64, WireType<'a>>,
    id: i64,
) -> Result<Value<'a>, ImportError> {
    if let Some(WireType::Struct { .. }) = types.get(&id) {
        return read_value(reader, types, id, 0);
    }
    let offset = reader.pos;
    if reader.uint()? != 0 {
        return Err(ImportError::Corrupt {
            offset,
            reason: "non-zero field delta before a single value",
        });
    }
    read_value(reader, types, id, 0)
}

fn read_value<'a>(
    reader: &mut Reader<'a>,
    types: &HashMap<i64, WireType<'a>>,
    id: i64,
    depth: usize,
) -> Result<Value<'a>, ImportError> {
    let offset = reader.pos;
    if depth > DEPTH_MAX {
        return Err(ImportError::TooDeep {
            offset,
            max: DEPTH_MAX,
        });
    }
    match id {
        // Go reads any non-zero value as true.
        BOOL => return Ok(Value::Bool(reader.uint()? != 0)),
        INT => return Ok(Value::Int(reader.int()?)),
        UINT => return Ok(Value::Uint(reader.uint()?)),
        FLOAT => return Ok(Value::Float(reader.float()?)),
        COMPLEX => {
            let real = reader.float()?;
            return Ok(Value::Complex(real, reader.float()?));
        }
        BYTES | STRING => return Ok(Value::Bytes(reader.bytes()?)),
        INTERFACE => {
            return Err(ImportError::Unsupported {
                offset,
                what: "interface value",
            });
        }
        _ => {}
    }
    let Some(wire) = types.get(&id) else {
        return Err(ImportError::UndefinedType { offset, id });
    };
    match wire {
        WireType::Array { elem, len, .. } => {
            let count = reader.count()?;
            if count as u64 != *len {
                return Err(ImportError::Corrupt {
                    offset,
                    reason: "array length differs from its type's",
                });
            }
            read_list(reader, types, *elem, count, depth)
        }
        WireType::Slice { elem, .. } => {
            let count = reader.count()?;
            read_list(reader, types, *elem, count, depth)
        }
        WireType::Map { key, elem, .. } => {
            let count = reader.count()?;
            // Vectors grow as entries arrive: a count is only checked against the input,
            // and nested counts could otherwise reserve the same bytes many times over.
            let mut entries = Vec::new();
            for _ in 0..count {
                let key = read_value(reader, types, *key, depth + 1)?;
                let value = read_value(reader, types, *elem, depth + 1)?;
                entries.push((key, value));
            }
            Ok(Value::Map(entries))
        }
        WireType::Struct { name, fields } => {
            let mut values = Vec::new();
            let mut field: Option<usize> = None;
            loop {
                let delta_offset = reader.pos;
                let delta = reader.uint()?;
                if delta == 0 {
                    return Ok(Value::Struct(values));
                }
                let number = usize::try_from(delta)
                    .ok()
                    .and_then(|delta| match field {
                        None => Some(delta - 1),
                        Some(previous) => previous.checked_add(delta),
                    })
                    .filter(|&number| number < fields.len());
                let Some(number) = number else {
                    return Err(ImportError::FieldOutOfRange {
                        offset: delta_offset,
                        type_name: String::from_utf8_lossy(name).into_owned(),
                        fields: fields.len(),
                    });
                };
                field = Some(number);
                let value = read_value(reader, types, fields[number].type_id, depth + 1)?;
                values.push((number, value));
            }
        }
        WireType::Encoded { .. } => Ok(Value::Encoded(reader.bytes()?)),
    }
}

fn read_list<'a>(
    reader: &mut Reader<'a>,
    types: &HashMap<i64, WireType<'a>>,
    elem: i64,
    count: usize,
    depth: usize,
) -> Result<Value<'a>, ImportError> {
    let mut elements = Vec::new();
    for _ in 0..count {
        elements.push(read_value(reader, types, elem, depth + 1)?);
    }
    Ok(Value::List(elements))
}

// ---- type definitions -------------------------------------------------------------------
//
// A definition is a value of gob's own `wireType`, whose layout every stream assumes:
//
//   wireType       { ArrayT *arrayType; SliceT *sliceType; StructT *structType;
//                    MapT *mapType; GobEncoderT, BinaryMarshalerT, TextMarshalerT *gobEncoderType }
//   arrayType      { CommonType; Elem typeId; Len int }
//   sliceType      { CommonType; Elem typeId }
//   structType     { CommonType; Field []*fieldType }
//   fieldType      { Name string; Id typeId }
//   mapType        { CommonType; Key typeId; Elem typeId }
//   gobEncoderType { CommonType }
//   CommonType     { Name string; Id typeId }
//
// `CommonType.Id` is not used: the message's own id names the type (Go's encoder sometimes
// sends a different one there for a GobEncoder).

fn read_wire_type<'a>(reader: &mut Reader<'a>) -> Result<WireType<'a>, ImportError> {
    let start = reader.pos;
    let mut wire = None;
    read_fields(reader, "wireType", 7, |reader, field| {
        if wire.is_some() {
            return Err(ImportError::Corrupt {
                offset: reader.pos,
                reason: "type definition of two kinds",
            });
        }
        wire = Some(match field {
            0 => {
                let (mut name, mut elem, mut len) = (&[][..], 0, 0);
                read_fields(reader, "arrayType", 3, |reader, field| {
                    match field {
                        0 => name = read_common_type(reader)?,
                        1 => elem = reader.int()?,
                        _ => {
                            let offset = reader.pos;
                            len =
                                u64::try_from(reader.int()?).map_err(|_| ImportError::Corrupt {
                                    offset,
                                    reason: "negative array length",
                                })?;
                        }
                    }
                    Ok(())
                })?;
                WireType::Array { name, elem, len }
            }
            1 => {
                let (mut name, mut elem) = (&[][..], 0);
                read_fields(reader, "sliceType", 2, |reader, field| {
                    match field {
                        0 => name = read_common_type(reader)?,
                        _ => elem = reader.int()?,
                    }
                    Ok(())
                })?;
                WireType::Slice { name, elem }
            }
            2 => {
                let (mut name, mut fields) = (&[][..], Vec::new());
                read_fields(reader, "structType", 2, |reader, field| {
                    match field {
                        0 => name = read_common_type(reader)?,
                        _ => {
                            for _ in 0..reader.count()? {
                                fields.push(read_field_type(reader)?);
                            }
                        }
                    }
                    Ok(())
                })?;
                WireType::Struct { name, fields }
            }
            3 => {
                let (mut name, mut key, mut elem) = (&[][..], 0, 0);
                read_fields(reader, "mapType", 3, |reader, field| {
                    match field {
                        0 => name = read_common_type(reader)?,
                        1 => key = reader.int()?,
                        _ => elem = reader.int()?,
                    }
                    Ok(())
                })?;
                WireType::Map { name, key, elem }
            }
            _ => {
                let mut name = &[][..];
                read_fields(reader, "gobEncoderType", 1, |reader, _| {
                    name = read_common_type(reader)?;
                    Ok(())
                })?;
                WireType::Encoded { name }
            }
        });
        Ok(())
    })?;
    wire.ok_or(ImportError::Corrupt {
        offset: start,
        reason: "type definition of no kind",
    })
}

/// `CommonType`: its name (its id is not used, see above).
fn read_common_type<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], ImportError> {
    let mut name = &[][..];
    read_fields(reader, "CommonType", 2, |reader, field| {
        match field {
            0 => name = reader.bytes()?,
            _ => {
                reader.int()?;
            }
        }
        Ok(())
    })?;
    Ok(name)
}

fn read_field_type<'a>(reader: &mut Reader<'a>) -> Result<Field<'a>, ImportError> {
    let mut field = Field {
        name: &[],
        type_id: 0,
    };
    read_fields(reader, "fieldType", 2, |reader, number| {
        match number {
            0 => field.name = reader.bytes()?,
            _ => field.type_id = reader.int()?,
        }
        Ok(())
    })?;
    Ok(field)
}

/// Reads the fields of a struct of a type known in advance: `on_field` gets each field
/// number below `field_count`, in order, and reads its value.
fn read_fields<'a>(
    reader: &mut Reader<'a>,
    type_name: &'static str,
    field_count: usize,
    mut on_field: impl FnMut(&mut Reader<'a>, usize) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut field: Option<usize> = None;
    loop {
        let offset = reader.pos;
        let delta = reader.uint()?;
        if delta == 0 {
            return Ok(());
        }
        let number = usize::try_from(delta)
            .ok()
            .and_then(|delta| match field {
                None => Some(delta - 1),
                Some(previous) => previous.checked_add(delta),
            })
            .filter(|&number| number < field_count);
        let Some(number) = number else {
            return Err(ImportError::FieldOutOfRange {
                offset,
                type_name: type_name.to_owned(),
                fields: field_count,
            });
        };
        field = Some(number);
        on_field(reader, number)?;
    }
}

// ---- numbers and lengths ----------------------------------------------------------------

/// A position in the input and the end of the current message, which no read passes.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// An unsigned integer: one byte below 128, else a byte holding the negated count of
    /// big-endian bytes that follow (at most 8). Non-minimal forms are accepted, as in Go.
    fn uint(&mut self) -> Result<u64, ImportError> {
        let offset = self.pos;
        let Some(&first) = self.input[..self.end].get(self.pos) else {
            return Err(ImportError::UnexpectedEnd { offset });
        };
        if first < 0x80 {
            self.pos += 1;
            return Ok(u64::from(first));
        }
        let count = usize::from(first.wrapping_neg());
        if count > 8 {
            return Err(ImportError::Corrupt {
                offset,
                reason: "unsigned integer longer than 8 bytes",
            });
        }
        let Some(bytes) = self.input[..self.end].get(self.pos + 1..self.pos + 1 + count) else {
            return Err(ImportError::UnexpectedEnd { offset });
        };
        self.pos += 1 + count;
        Ok(bytes
            .iter()
            .fold(0u64, |value, &byte| (value << 8) | u64::from(byte)))
    }

    /// A signed integer: bit 0 of the unsigned form says whether to complement the rest.
    fn int(&mut self) -> Result<i64, ImportError> {
        let value = self.uint()?;
        let magnitude = (value >> 1) as i64;
        Ok(if value & 1 == 1 {
            !magnitude
        } else {
            magnitude
        })
    }

    /// A float64: its bits, byte-reversed, as an unsigned integer.
    fn float(&mut self) -> Result<f64, ImportError> {
        Ok(f64::from_bits(self.uint()?.swap_bytes()))
    }

    /// A byte count, checked against what is left of the message.
    fn length(&mut self) -> Result<usize, ImportError> {
        let offset = self.pos;
        let length = self.uint()?;
        let available = self.end - self.pos;
        match usize::try_from(length) {
            Ok(length) if length <= available => Ok(length),
            _ => Err(ImportError::LengthBeyondInput {
                offset,
                length,
                available,
            }),
        }
    }

    /// A count of elements, each of which takes at least one byte.
    fn count(&mut self) -> Result<usize, ImportError> {
        self.length()
    }

    /// A string or `[]byte`: a byte count, then the bytes.
    fn bytes(&mut self) -> Result<&'a [u8], ImportError> {
        let length = self.length()?;
        let bytes = &self.input[self.pos..self.pos + length];
        self.pos += length;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(input: &[u8]) -> Reader<'_> {
        Reader {
            input,
            pos: 0,
            end: input.len(),
        }
    }

    #[test]
    fn tree_nodes_stay_small() {
        // The memory bound in the module documentation depends on these.
        assert!(size_of::<Value<'_>>() <= 32, "{}", size_of::<Value<'_>>());
        assert!(size_of::<(Value<'_>, Value<'_>)>() <= 64);
        assert!(size_of::<Field<'_>>() <= 24);
    }

    #[test]
    fn numbers_follow_doc_go() {
        // doc.go: 0 is (00), 7 is (07), 256 is (FE 01 00).
        assert_eq!(reader(&[0x00]).uint(), Ok(0));
        assert_eq!(reader(&[0x07]).uint(), Ok(7));
        assert_eq!(reader(&[0xfe, 0x01, 0x00]).uint(), Ok(256));
        // -129 is (FE 01 01); 3 is (06).
        assert_eq!(reader(&[0xfe, 0x01, 0x01]).int(), Ok(-129));
        assert_eq!(reader(&[0x06]).int(), Ok(3));
        // 17.0 is (FE 31 40).
        assert_eq!(reader(&[0xfe, 0x31, 0x40]).float(), Ok(17.0));
        let max = [0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(reader(&max).uint(), Ok(u64::MAX));
        assert_eq!(reader(&max).int(), Ok(i64::MIN));
    }

    #[test]
    fn malformed_numbers_are_errors() {
        assert_eq!(
            reader(&[]).uint(),
            Err(ImportError::UnexpectedEnd { offset: 0 })
        );
        assert_eq!(
            reader(&[0xfe, 0x01]).uint(),
            Err(ImportError::UnexpectedEnd { offset: 0 })
        );
        assert!(matches!(
            reader(&[0xf7, 0, 0, 0, 0, 0, 0, 0, 0, 0]).uint(),
            Err(ImportError::Corrupt { offset: 0, .. })
        ));
        assert_eq!(
            reader(&[0x05, b'a']).bytes(),
            Err(ImportError::LengthBeyondInput {
                offset: 0,
                length: 5,
                available: 1
            })
        );
    }

    #[test]
    fn doc_go_point_example_decodes() {
        // type Point struct {X, Y int}; Point{22, 33}, from doc.go.
        let stream = [
            0x1f, 0xff, 0x81, 0x03, 0x01, 0x01, 0x05, 0x50, 0x6f, 0x69, 0x6e, 0x74, 0x01, 0xff,
            0x82, 0x00, 0x01, 0x02, 0x01, 0x01, 0x58, 0x01, 0x04, 0x00, 0x01, 0x01, 0x59, 0x01,
            0x04, 0x00, 0x00, 0x00, 0x07, 0xff, 0x82, 0x01, 0x2c, 0x01, 0x42, 0x00,
        ];
        let decoded = read_stream(&stream).unwrap();
        assert_eq!(decoded.type_id, 65);
        assert_eq!(decoded.type_name(65), "Point");
        assert_eq!(
            decoded.value,
            Value::Struct(vec![(0, Value::Int(22)), (1, Value::Int(33))])
        );
        let Some(WireType::Struct { fields, .. }) = decoded.types.get(&65) else {
            panic!("{:?}", decoded.types);
        };
        let names: Vec<&[u8]> = fields.iter().map(|field| field.name).collect();
        assert_eq!(names, [&b"X"[..], b"Y"]);
    }

    #[test]
    fn single_values_have_a_zero_delta() {
        // doc.go: the integer 3 at top level is 03 04 00 06.
        let decoded = read_stream(&[0x03, 0x04, 0x00, 0x06]).unwrap();
        assert_eq!(decoded.value, Value::Int(3));
        assert!(matches!(
            read_stream(&[0x03, 0x04, 0x01, 0x06]),
            Err(ImportError::Corrupt { offset: 2, .. })
        ));
    }

    /// Defines type 65 as a slice of `elem` (one byte, a small type id).
    fn slice_definition(elem: &[u8]) -> Vec<u8> {
        // -65, wireType.SliceT { CommonType {}, Elem }.
        let mut message = vec![0xff, 0x81, 0x02, 0x01, 0x00, 0x01];
        message.extend(elem);
        message.extend([0x00, 0x00]);
        let mut stream = vec![message.len() as u8];
        stream.extend(message);
        stream
    }

    #[test]
    fn undefined_and_redefined_types_are_errors() {
        assert_eq!(
            read_stream(&[0x03, 0xff, 0x82, 0x00]).unwrap_err(),
            ImportError::UndefinedType { offset: 4, id: 65 }
        );
        let definition = slice_definition(&[0x04]);
        assert_eq!(definition.len(), 10);
        let twice = [&definition[..], &definition[..]].concat();
        assert_eq!(
            read_stream(&twice).unwrap_err(),
            ImportError::DuplicateType { offset: 11, id: 65 }
        );
        assert_eq!(
            read_stream(&definition).unwrap_err(),
            ImportError::NoValue { types_defined: 1 }
        );
        let mut list = definition.clone();
        list.extend([0x06, 0xff, 0x82, 0x00, 0x02, 0x02, 0x03]);
        let decoded = read_stream(&list).unwrap();
        assert_eq!(
            decoded.value,
            Value::List(vec![Value::Int(1), Value::Int(-2)])
        );
    }

    #[test]
    fn nesting_is_capped() {
        // Type 65 is a slice of itself; the value nests 100 deep.
        let mut stream = slice_definition(&[0xff, 0x82]);
        let mut value = vec![0xff, 0x82, 0x00];
        value.extend(std::iter::repeat_n(0x01, 100));
        value.push(0x00);
        stream.push(value.len() as u8);
        stream.extend(value);
        assert!(matches!(
            read_stream(&stream),
            Err(ImportError::TooDeep { max: DEPTH_MAX, .. })
        ));
    }

    #[test]
    fn counts_beyond_the_input_are_rejected_before_reading() {
        // A []int value claiming 2^40 elements, with one byte left.
        let mut stream = slice_definition(&[0x04]);
        stream.extend([0x0b, 0xff, 0x82, 0x00, 0xfa, 0x01, 0, 0, 0, 0, 0, 0x00]);
        assert_eq!(
            read_stream(&stream).unwrap_err(),
            ImportError::LengthBeyondInput {
                offset: 14,
                length: 1 << 40,
                available: 1
            }
        );
    }
}
