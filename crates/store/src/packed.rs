//! Records' documents as the SQLite store keeps them: each compressed on its own with zstd
//! against a dictionary of what Tollgate's documents have in common (the members' names, the
//! kinds, the shapes of dates, keys and ids), so a time entry's 310 bytes of JSON take about
//! 55. Each document stays a row of its own, read and written alone: nothing about sync,
//! resume or deletion changes, and a damaged row damages one record.
//!
//! A packed document is a BLOB whose first byte names the dictionary; a document as JSON text
//! (from before schema 12) starts with `{` and reads as it always did. A dictionary, once
//! shipped, never changes: a better one would come as `records-2.zdict` with its own first
//! byte, beside this one. `scripts/train-store-dictionary` says how this one was made.
//!
//! A time entry's document (schema 13) starts with [`SUMMARY_1`] instead: then what the
//! portfolio reads of it ([`Summary`]: who, on what, which day, how long; names as numbers of
//! the store's `record_names`), then the frame as [`DICTIONARY_1`] has it. The portfolio reads
//! a million time entries from their summaries, a few bytes each, instead of unpacking and
//! parsing a million documents; every other reader unpacks the whole document as before.

use std::io;
use std::sync::OnceLock;

/// The dictionary of the first byte [`DICTIONARY_1`]: zstd's, trained on the demo's
/// documents (Jira, Azure DevOps, HR and finance CSV) and a sample of the 10,000-epic
/// synthetic portfolio's.
const RECORDS_1: &[u8] = include_bytes!("../dictionaries/records-1.zdict");

/// The first byte of a document packed against [`RECORDS_1`].
const DICTIONARY_1: u8 = 1;

/// The first byte of a time entry's document: its [`Summary`], then the document packed
/// against [`RECORDS_1`].
const SUMMARY_1: u8 = 2;

/// What the portfolio reads of a time entry, kept in front of its packed document: the
/// person, the initiative and the date as numbers of the store's `record_names` (from 1; 0
/// is no initiative), the work item's key as its text (a large store has a hundred thousand
/// of them, which a writer would have to keep numbers of; its people, initiatives and days
/// are few), and the seconds. Numbers are unsigned LEB128; the key is its length plus one
/// (0: none), then its UTF-8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary<'a> {
    pub(crate) person: u64,
    pub(crate) work_item: Option<&'a str>,
    pub(crate) initiative: u64,
    pub(crate) date: u64,
    pub(crate) seconds: u64,
}

fn write_number(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

const CUT: &str = "its summary is cut short (a damaged document)";

/// The LEB128 number `rest` starts with; `rest` moves past it.
fn read_number(rest: &mut &[u8]) -> Result<u64, String> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, after) = rest.split_first().ok_or(CUT)?;
        *rest = after;
        if shift == 63 && b > 1 {
            break;
        }
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(n);
        }
    }
    Err("its summary holds a number too large (a damaged document)".into())
}

impl<'a> Summary<'a> {
    /// [`Summary::encode_onto`] into a vector of its own.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        self.encode_onto(&mut out);
        out
    }

    /// The summary as it is kept, appended to `out`.
    pub(crate) fn encode_onto(&self, out: &mut Vec<u8>) {
        write_number(self.person, out);
        match self.work_item {
            Some(key) => {
                write_number(key.len() as u64 + 1, out);
                out.extend_from_slice(key.as_bytes());
            }
            None => out.push(0),
        }
        for n in [self.initiative, self.date, self.seconds] {
            write_number(n, out);
        }
    }

    /// The summary `bytes` start with, and what follows it.
    fn read(bytes: &'a [u8]) -> Result<(Summary<'a>, &'a [u8]), String> {
        let mut rest = bytes;
        let person = read_number(&mut rest)?;
        let key_length = read_number(&mut rest)?;
        let work_item = match key_length.checked_sub(1) {
            None => None,
            Some(len) => {
                let len = usize::try_from(len).map_err(|_| CUT.to_string())?;
                if rest.len() < len {
                    return Err(CUT.into());
                }
                let (key, after) = rest.split_at(len);
                rest = after;
                Some(std::str::from_utf8(key).map_err(|e| {
                    format!("its summary's work item is not UTF-8 text (a damaged document): {e}")
                })?)
            }
        };
        let summary = Summary {
            person,
            work_item,
            initiative: read_number(&mut rest)?,
            date: read_number(&mut rest)?,
            seconds: read_number(&mut rest)?,
        };
        Ok((summary, rest))
    }
}

/// The summary a packed document starts with: none for a document without one (not a time
/// entry's, or written before schema 13), an error for a damaged one.
pub(crate) fn summary(packed: &[u8]) -> Result<Option<Summary<'_>>, String> {
    match packed.split_first() {
        Some((&SUMMARY_1, rest)) => Summary::read(rest).map(|(s, _)| Some(s)),
        _ => Ok(None),
    }
}

/// A document packed without a summary ([`Packer::pack`]), with the summary `encoded`
/// ([`Summary::encode`]) put in front of it; an error for anything else.
pub(crate) fn with_summary(packed: &[u8], encoded: &[u8]) -> Result<Vec<u8>, String> {
    match packed.split_first() {
        Some((&DICTIONARY_1, frame)) => {
            let mut out = Vec::with_capacity(1 + encoded.len() + frame.len());
            out.push(SUMMARY_1);
            out.extend_from_slice(encoded);
            out.extend_from_slice(frame);
            Ok(out)
        }
        Some((&SUMMARY_1, _)) => Err("its document has a summary already".into()),
        _ => Err("its document is not packed".into()),
    }
}

/// zstd's level: higher levels gained 3 % on these small documents for several times the
/// time.
const LEVEL: i32 = 3;

/// What every zstd frame starts with, which a packed document leaves out.
const MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();

/// The largest document unpacked (a record is a few KiB; a frame that claims more is damaged
/// or hostile, and is refused before anything is allocated for it).
const LARGEST: u64 = 64 << 20;

fn encoder() -> &'static zstd::dict::EncoderDictionary<'static> {
    static ENCODER: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    ENCODER.get_or_init(|| zstd::dict::EncoderDictionary::copy(RECORDS_1, LEVEL))
}

fn decoder() -> &'static zstd::dict::DecoderDictionary<'static> {
    static DECODER: OnceLock<zstd::dict::DecoderDictionary<'static>> = OnceLock::new();
    DECODER.get_or_init(|| zstd::dict::DecoderDictionary::copy(RECORDS_1))
}

/// Packs documents, reusing one compression context.
pub(crate) struct Packer {
    compressor: zstd::bulk::Compressor<'static>,
    /// The zstd frame.
    buffer: Vec<u8>,
    /// The packed document, for [`Packer::pack_onto`].
    packed: Vec<u8>,
}

impl Packer {
    pub(crate) fn new() -> io::Result<Packer> {
        let mut compressor = zstd::bulk::Compressor::with_prepared_dictionary(encoder())?;
        // The first byte names the dictionary, and SQLite's pages checksum nothing either:
        // the 4 bytes of dictionary id and of checksum a frame would carry are left out. The
        // size is kept: it bounds what unpacking allocates.
        compressor.set_parameter(zstd::zstd_safe::CParameter::DictIdFlag(false))?;
        compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(false))?;
        compressor.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(true))?;
        Ok(Packer {
            compressor,
            buffer: Vec::new(),
            packed: Vec::new(),
        })
    }

    /// `json`, packed, with the summary `encoded` ([`Summary::encode_onto`]) in front of it
    /// where given (a time entry's).
    pub(crate) fn pack_with(&mut self, json: &str, encoded: Option<&[u8]>) -> io::Result<Vec<u8>> {
        self.pack_onto(json, encoded).map(<[u8]>::to_vec)
    }

    /// [`Packer::pack_with`], in a buffer the packer keeps (over what its last call returned),
    /// for a writer of many documents.
    pub(crate) fn pack_onto(&mut self, json: &str, encoded: Option<&[u8]>) -> io::Result<&[u8]> {
        self.frame(json)?;
        let frame = self
            .buffer
            .strip_prefix(&MAGIC)
            .ok_or_else(|| io::Error::other("zstd wrote a frame without its magic number"))?;
        // The frame without its magic number: every frame starts with the same four bytes,
        // and the document's first byte says it all.
        self.packed.clear();
        match encoded {
            Some(encoded) => {
                self.packed.push(SUMMARY_1);
                self.packed.extend_from_slice(encoded);
            }
            None => self.packed.push(DICTIONARY_1),
        }
        self.packed.extend_from_slice(frame);
        Ok(&self.packed)
    }

    /// `json`, packed.
    pub(crate) fn pack(&mut self, json: &str) -> io::Result<Vec<u8>> {
        self.pack_with(json, None)
    }

    /// `json` as a zstd frame, in `self.buffer`.
    fn frame(&mut self, json: &str) -> io::Result<()> {
        // zstd writes a buffer from its start: the frame goes into one of its own, reused.
        self.buffer.clear();
        self.buffer
            .reserve(zstd::zstd_safe::compress_bound(json.len()));
        self.compressor
            .compress_to_buffer(json.as_bytes(), &mut self.buffer)?;
        Ok(())
    }
}

/// Unpacks documents, reusing one decompression context and one buffer.
pub(crate) struct Unpacker {
    decompressor: zstd::bulk::Decompressor<'static>,
    /// The frame, its magic number put back.
    frame: Vec<u8>,
    buffer: Vec<u8>,
}

impl Unpacker {
    pub(crate) fn new() -> io::Result<Unpacker> {
        Ok(Unpacker {
            decompressor: zstd::bulk::Decompressor::with_prepared_dictionary(decoder())?,
            frame: Vec::new(),
            buffer: Vec::new(),
        })
    }

    /// The JSON text of the packed document `packed`, appended to `out`. Anything but a
    /// document this module packed (another first byte, a damaged frame, a size it does not
    /// keep to, text that is not UTF-8) is an error saying what is wrong.
    pub(crate) fn unpack_onto(&mut self, packed: &[u8], out: &mut String) -> Result<(), String> {
        let (first, rest) = match packed.split_first() {
            Some((&DICTIONARY_1, rest)) => (DICTIONARY_1, rest),
            Some((&SUMMARY_1, rest)) => (DICTIONARY_1, Summary::read(rest)?.1),
            Some((&other, _)) => {
                return Err(format!(
                    "its document is packed against dictionary {other}, which this version does not have (a newer Tollgate wrote it?)"
                ));
            }
            None => return Err("its document is empty".into()),
        };
        self.frame.clear();
        self.frame.extend_from_slice(&MAGIC);
        self.frame.extend_from_slice(rest);
        let frame = self.frame.as_slice();
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= LARGEST => size as usize,
            Ok(Some(size)) => {
                return Err(format!(
                    "its packed document claims {size} bytes, more than a record can hold"
                ));
            }
            Ok(None) | Err(_) => {
                return Err(format!(
                    "its packed document (dictionary {first}) is damaged: no readable frame header"
                ));
            }
        };
        self.buffer.clear();
        self.buffer.reserve(size);
        let written = self
            .decompressor
            .decompress_to_buffer(frame, &mut self.buffer)
            .map_err(|e| format!("its packed document is damaged: {e}"))?;
        if written != size {
            return Err(format!(
                "its packed document is damaged: {written} bytes where its header says {size}"
            ));
        }
        let text = std::str::from_utf8(&self.buffer)
            .map_err(|e| format!("its packed document is not UTF-8 text: {e}"))?;
        out.push_str(text);
        Ok(())
    }

    /// The JSON text of the packed document `packed`.
    #[cfg(test)]
    pub(crate) fn unpack(&mut self, packed: &[u8]) -> Result<String, String> {
        let mut out = String::new();
        self.unpack_onto(packed, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIME_ENTRY: &str = r#"{"provenance":{"source_updated":"2026-03-09T10:01:30.000+02:00","fetched_at":"2026-12-04T06:44:15.090Z"},"entity":{"kind":"time-entry","data":{"person":"712020:5c1b0004-0004","work_item_key":"SYN-10001","initiative_key":"SYN-1","date":"2026-03-09","started":"2026-03-09T09:00:00.000+02:00","seconds":3600}}}"#;

    #[test]
    fn a_packed_document_unpacks_to_the_same_text_in_a_fraction_of_its_size() {
        let mut packer = Packer::new().unwrap();
        let mut unpacker = Unpacker::new().unwrap();
        let packed = packer.pack(TIME_ENTRY).unwrap();
        assert_eq!(packed[0], DICTIONARY_1);
        assert!(
            packed.len() * 3 < TIME_ENTRY.len(),
            "{} bytes packed from {}",
            packed.len(),
            TIME_ENTRY.len()
        );
        assert_eq!(unpacker.unpack(&packed).unwrap(), TIME_ENTRY);
        // Text that shares nothing with the dictionary still round-trips, as do the empty
        // text and a large document.
        let odd = "{\"x\":\"ünïcödé \\u0000 \u{1F600}\"}".repeat(3);
        let big = format!("{{\"extra\":\"{}\"}}", "abc".repeat(400_000));
        for text in [odd.as_str(), "", big.as_str()] {
            let packed = packer.pack(text).unwrap();
            assert_eq!(unpacker.unpack(&packed).unwrap(), text);
        }
        // Onto text already there, as the store's batches are built.
        let mut out = String::from("id-1");
        unpacker.unpack_onto(&packed, &mut out).unwrap();
        assert_eq!(out, format!("id-1{TIME_ENTRY}"));
    }

    #[test]
    fn damaged_or_foreign_packed_documents_are_errors_that_say_so() {
        let mut packer = Packer::new().unwrap();
        let mut unpacker = Unpacker::new().unwrap();
        let packed = packer.pack(TIME_ENTRY).unwrap();
        let mut foreign = packed.clone();
        foreign[0] = 7;
        let err = unpacker.unpack(&foreign).unwrap_err();
        assert!(err.contains("dictionary 7"), "{err}");
        assert!(unpacker.unpack(&[]).unwrap_err().contains("empty"));
        assert!(
            unpacker
                .unpack(&[DICTIONARY_1])
                .unwrap_err()
                .contains("damaged")
        );
        // Every truncation, and every single flipped byte past the first: an error or (where
        // zstd cannot tell) some text, never a panic or an unbounded allocation.
        survives_damage(&mut unpacker, &packed);
        // A header claiming a gigabyte is refused before anything is allocated for it: a
        // frame header descriptor with an 8-byte content size and a single segment.
        let mut huge = vec![DICTIONARY_1];
        huge.push(0xE0);
        huge.extend_from_slice(&(1u64 << 30).to_le_bytes());
        huge.extend_from_slice(&[0; 8]);
        let err = unpacker.unpack(&huge).unwrap_err();
        assert!(err.contains("more than a record can hold"), "{err}");
    }

    /// Every truncation of `packed` is an error; every single flipped byte past the first is
    /// an error or (where zstd cannot tell) some text, never a panic or an unbounded
    /// allocation, as is its summary, if it has one.
    fn survives_damage(unpacker: &mut Unpacker, packed: &[u8]) {
        for end in 1..packed.len() {
            assert!(unpacker.unpack(&packed[..end]).is_err(), "cut at {end}");
        }
        for at in 1..packed.len() {
            let mut damaged = packed.to_vec();
            damaged[at] ^= 0x5a;
            let _ = unpacker.unpack(&damaged);
            let _ = summary(&damaged);
        }
    }

    #[test]
    fn a_summary_reads_back_and_its_document_unpacks_as_without_it() {
        let mut packer = Packer::new().unwrap();
        let mut unpacker = Unpacker::new().unwrap();
        for s in [
            Summary {
                person: 1,
                work_item: None,
                initiative: 0,
                date: 2,
                seconds: 0,
            },
            Summary {
                person: 300,
                work_item: Some("SYN-10001 \"ä\""),
                initiative: 127,
                date: 128,
                seconds: u64::MAX,
            },
            Summary {
                person: 1 << 40,
                work_item: Some(""),
                initiative: 1,
                date: 1,
                seconds: 3600,
            },
        ] {
            let packed = packer.pack_with(TIME_ENTRY, Some(&s.encode())).unwrap();
            assert_eq!(packed[0], SUMMARY_1);
            assert_eq!(summary(&packed).unwrap(), Some(s));
            assert_eq!(unpacker.unpack(&packed).unwrap(), TIME_ENTRY);
            let plain = packer.pack(TIME_ENTRY).unwrap();
            assert_eq!(summary(&plain).unwrap(), None);
            assert_eq!(with_summary(&plain, &s.encode()).unwrap(), packed);
            assert!(with_summary(&packed, &s.encode()).is_err());
            survives_damage(&mut unpacker, &packed);
        }
        // A number of more than 64 bits is refused.
        let mut long = vec![SUMMARY_1];
        long.extend_from_slice(&[0xff; 9]);
        long.push(0x02);
        assert!(summary(&long).unwrap_err().contains("too large"));
        // A key longer than what follows, or not UTF-8.
        assert!(
            summary(&[SUMMARY_1, 1, 9, b'a'])
                .unwrap_err()
                .contains("cut short")
        );
        let err = summary(&[SUMMARY_1, 1, 2, 0xff, 0, 1, 1]).unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
    }
}
