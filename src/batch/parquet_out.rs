//! Parquet output, a row group at a time. The coded columns (tier, best action, reasons) are
//! written straight from their codes: their dictionaries are fixed and tiny, so each column chunk
//! is one dictionary page of the names and one data page of bit-packed codes, without looking a
//! single name up (the Arrow writer would hash and compare every value's text). The other
//! columns go through the Arrow column writers.

use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::Result;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// A Parquet file being written, a row group of at least `row_group_rows` rows at a time.
pub struct ParquetSink {
    file: SerializedFileWriter<File>,
    columns: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    row_group_rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    row_groups: usize,
}

impl ParquetSink {
    /// Starts `file` for batches of `schema`.
    ///
    /// # Errors
    /// The schema cannot be stored in Parquet, or the header cannot be written.
    pub fn new(
        file: File,
        schema: SchemaRef,
        props: WriterProperties,
        row_group_rows: usize,
    ) -> Result<Self> {
        let (file, columns) =
            ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
        Ok(Self {
            file,
            columns,
            schema,
            row_group_rows,
            pending: Vec::new(),
            pending_rows: 0,
            row_groups: 0,
        })
    }

    /// Adds a batch; a row group is written once enough rows are waiting.
    ///
    /// # Errors
    /// The write fails.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.pending_rows += batch.num_rows();
        self.pending.push(batch.clone());
        if self.pending_rows >= self.row_group_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the last row group and the footer.
    ///
    /// # Errors
    /// The write fails.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.file.close()?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let descriptors = self.file.schema_descr().columns().to_vec();
        let writers = self.columns.create_column_writers(self.row_groups)?;
        let mut group = self.file.next_row_group()?;
        for (c, (field, mut writer)) in self.schema.fields().iter().zip(writers).enumerate() {
            let arrays: Vec<&ArrayRef> = self.pending.iter().map(|b| b.column(c)).collect();
            if matches!(field.data_type(), DataType::Dictionary(..)) {
                let (chunk, close) = encode_coded_column(&descriptors[c], &arrays)?;
                group.append_column(&chunk, close)?;
            } else {
                for array in arrays {
                    for leaf in compute_leaves(field, array)? {
                        writer.write(&leaf)?;
                    }
                }
                writer.close()?.append_to_row_group(&mut group)?;
            }
        }
        group.close()?;
        self.pending.clear();
        self.pending_rows = 0;
        self.row_groups += 1;
        Ok(())
    }
}

/// One column chunk of a coded column (`Dictionary<Int8 | Int16, Utf8>` arrays sharing one
/// dictionary): a PLAIN dictionary page of every name, then one RLE_DICTIONARY data page with the
/// definition levels (nullable columns) and the codes, bit-packed.
fn encode_coded_column(
    descriptor: &ColumnDescPtr,
    arrays: &[&ArrayRef],
) -> Result<(Bytes, ColumnCloseResult)> {
    let names = arrays[0].as_any_dictionary().values().as_string::<i32>();
    let mut dictionary = Vec::with_capacity(names.value_data().len() + 4 * names.len());
    for name in names.iter() {
        let name = name.unwrap_or_default().as_bytes();
        dictionary.extend_from_slice(&(name.len() as u32).to_le_bytes());
        dictionary.extend_from_slice(name);
    }
    let rows: usize = arrays.iter().map(|a| a.len()).sum();
    let mut data = Vec::with_capacity(rows + 64);
    if descriptor.max_def_level() > 0 {
        // Definition levels (1 = present), preceded by their length (data page v1).
        let mut levels = Vec::with_capacity(rows / 8 + 16);
        if arrays.iter().all(|a| a.null_count() == 0) {
            // One run of `rows` ones.
            push_varint((rows as u64) << 1, &mut levels);
            levels.push(1);
        } else {
            let present = arrays
                .iter()
                .flat_map(|a| (0..a.len()).map(move |i| u32::from(a.is_valid(i))));
            pack_hybrid(present, rows, 1, &mut levels);
        }
        data.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        data.extend_from_slice(&levels);
    }
    let width = bits_for(names.len().saturating_sub(1) as u32);
    data.push(width as u8);
    let mut present = Vec::with_capacity(rows);
    for array in arrays {
        push_codes(array, &mut present);
    }
    pack_hybrid(present.iter().copied(), present.len(), width, &mut data);

    let mut sink = TrackedWrite::new(Vec::with_capacity(dictionary.len() + data.len() + 128));
    let mut pages = SerializedPageWriter::new(&mut sink);
    let dictionary_len = dictionary.len();
    let dictionary_page = pages.write_page(CompressedPage::new(
        Page::DictionaryPage {
            buf: dictionary.into(),
            num_values: names.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        },
        dictionary_len,
    ))?;
    let data_len = data.len();
    let data_page = pages.write_page(CompressedPage::new(
        Page::DataPage {
            buf: data.into(),
            num_values: rows as u32,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        },
        data_len,
    ))?;
    pages.close()?;
    let chunk = Bytes::from(sink.into_inner()?);
    let size = (dictionary_page.bytes_written + data_page.bytes_written) as i64;
    let metadata = ColumnChunkMetaData::builder(Arc::clone(descriptor))
        .set_compression(Compression::UNCOMPRESSED)
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_num_values(rows as i64)
        .set_total_compressed_size(size)
        .set_total_uncompressed_size(size)
        .set_dictionary_page_offset(Some(dictionary_page.offset as i64))
        .set_data_page_offset(data_page.offset as i64)
        .build()?;
    let close = ColumnCloseResult {
        bytes_written: size as u64,
        rows_written: rows as u64,
        metadata,
        bloom_filter: None,
        column_index: None,
        // Readers find the data page through the offset index, which every column of a file
        // has or none does.
        offset_index: Some(OffsetIndexMetaData {
            page_locations: vec![PageLocation {
                offset: data_page.offset as i64,
                compressed_page_size: data_page.bytes_written as i32,
                first_row_index: 0,
            }],
            unencoded_byte_array_data_bytes: None,
        }),
    };
    Ok((chunk, close))
}

/// Appends the codes of a coded column's present values.
fn push_codes(array: &ArrayRef, out: &mut Vec<u32>) {
    fn push<K: Copy + Into<i32>>(keys: &[K], array: &ArrayRef, out: &mut Vec<u32>) {
        if array.null_count() == 0 {
            out.extend(keys.iter().map(|&k| k.into() as u32));
        } else {
            let present = (0..keys.len()).filter(|&i| array.is_valid(i));
            out.extend(present.map(|i| keys[i].into() as u32));
        }
    }
    match array.data_type() {
        DataType::Dictionary(key, _) if **key == DataType::Int8 => {
            push(
                array.as_dictionary::<Int8Type>().keys().values(),
                array,
                out,
            );
        }
        _ => push(
            array.as_dictionary::<Int16Type>().keys().values(),
            array,
            out,
        ),
    }
}

/// Appends `v` as an unsigned LEB128 varint.
fn push_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bits needed to write `max` (at least 1).
fn bits_for(max: u32) -> u32 {
    (u32::BITS - max.leading_zeros()).max(1)
}

/// Appends `count` values of `width` bits in Parquet's RLE / bit-packing hybrid encoding, as
/// bit-packed runs of at most 63 groups of 8 values (one header byte each; the last group is
/// padded with zeros, which readers ignore past the page's value count).
fn pack_hybrid(values: impl Iterator<Item = u32>, count: usize, width: u32, out: &mut Vec<u8>) {
    const MAX_GROUPS: usize = 63;
    let mut values = values.take(count);
    let mut left = count;
    while left > 0 {
        let groups = left.div_ceil(8).min(MAX_GROUPS);
        out.push(((groups << 1) | 1) as u8);
        let (mut acc, mut bits) = (0u64, 0u32);
        for _ in 0..groups * 8 {
            acc |= u64::from(values.next().unwrap_or(0)) << bits;
            bits += width;
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        left -= (groups * 8).min(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_packed_runs_hold_groups_of_eight_values_lowest_bits_first() {
        let mut out = Vec::new();
        pack_hybrid([1, 2, 3].into_iter(), 3, 2, &mut out);
        // One group: header (1 << 1) | 1, then 1, 2, 3, 0, 0, 0, 0, 0 in 2 bits each.
        assert_eq!(out, [0x03, 0b0011_1001, 0x00]);
        let mut out = Vec::new();
        pack_hybrid(std::iter::repeat(1), 63 * 8 + 1, 1, &mut out);
        assert_eq!(out.len(), 1 + 63 + 1 + 1);
        assert_eq!((out[0], out[64]), ((63 << 1) | 1, 3));
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(4), 3);
        assert_eq!(bits_for(7), 3);
    }

    #[test]
    fn coded_columns_read_back_as_their_names_with_nulls_across_row_groups() {
        use arrow_array::{DictionaryArray, Float64Array, Int16Array, Int8Array, StringArray};
        use arrow_schema::{Field, Schema};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let code = |k: DataType| DataType::Dictionary(Box::new(k), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![
            Field::new("tier", code(DataType::Int8), false),
            Field::new("amount", DataType::Float64, false),
            Field::new("reason", code(DataType::Int16), true),
            // Nullable, but every value present (one run of definition levels).
            Field::new("first_reason", code(DataType::Int16), true),
        ]));
        let tiers: ArrayRef = Arc::new(StringArray::from(vec!["A", "B", "C", "sleeping"]));
        let names: Vec<String> = (0..40).map(|i| format!("feature_{i}")).collect();
        let reasons: ArrayRef = Arc::new(StringArray::from(names.clone()));
        let batch = |start: usize, n: usize| {
            let rows = start..start + n;
            let tier = Int8Array::from_iter_values(rows.clone().map(|i| (i * 7 % 4) as i8));
            let reason = Int16Array::from_iter(
                rows.clone()
                    .map(|i| (i % 5 != 2).then_some((i * 13 % 40) as i16)),
            );
            let first = Int16Array::from_iter_values(rows.clone().map(|i| (i % 40) as i16));
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(DictionaryArray::try_new(tier, tiers.clone()).unwrap()),
                    Arc::new(Float64Array::from_iter_values(rows.map(|i| i as f64))),
                    Arc::new(DictionaryArray::try_new(reason, reasons.clone()).unwrap()),
                    Arc::new(DictionaryArray::try_new(first, reasons.clone()).unwrap()),
                ],
            )
            .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coded.parquet");
        let file = File::create(&path).unwrap();
        let props = WriterProperties::builder().build();
        // Row groups of at least 700 rows from batches of 300 and a last, short one.
        let mut sink = ParquetSink::new(file, schema.clone(), props, 700).unwrap();
        for start in (0..3_000).step_by(300) {
            sink.write(&batch(start, 300)).unwrap();
        }
        sink.write(&batch(3_000, 17)).unwrap();
        sink.finish().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 4);
        let mut row = 0;
        for got in reader.build().unwrap() {
            let got = got.unwrap();
            let tier = arrow_cast_strings(got.column(0));
            let reason = arrow_cast_strings(got.column(2));
            let first = arrow_cast_strings(got.column(3));
            let amount = got
                .column(1)
                .as_primitive::<arrow_array::types::Float64Type>();
            for k in 0..got.num_rows() {
                let i = row + k;
                assert_eq!(
                    tier[k].as_deref(),
                    Some(["A", "B", "C", "sleeping"][i * 7 % 4])
                );
                let want = (i % 5 != 2).then(|| names[i * 13 % 40].clone());
                assert_eq!(reason[k], want, "row {i}");
                assert_eq!(first[k].as_deref(), Some(names[i % 40].as_str()));
                assert_eq!(amount.value(k), i as f64);
            }
            row += got.num_rows();
        }
        assert_eq!(row, 3_017);
    }

    /// A coded column's values as names.
    fn arrow_cast_strings(array: &ArrayRef) -> Vec<Option<String>> {
        let dict = array.as_any_dictionary();
        let names = dict.values().as_string::<i32>();
        let keys = dict.normalized_keys();
        (0..array.len())
            .map(|i| array.is_valid(i).then(|| names.value(keys[i]).to_owned()))
            .collect()
    }
}
