//! A `ModelInferRequest`'s input tensors read into customer profiles: either one tensor per
//! input (shape `[N]` or `[N, 1]`) or one FP64 `[N, F]` tensor holding every numeric input in
//! ModelMetadata's order, each as typed `contents` or as `raw_input_contents` (little-endian;
//! BYTES as a 4-byte length and the bytes). Every value passes the rules a `Score` profile
//! obeys; the first that does not is named with its input and row.

use super::signature::{numeric_inputs, Datatype, Field, CUSTOMER_ID};
use super::v2::model_infer_request::InferInputTensor;
use super::v2::{InferTensorContents, ModelInferRequest};
use crate::domain::profile::BuiltinFeature;
use crate::domain::validation::{check_customer_id, with_setter, FieldProblem};
use crate::domain::CustomerProfile;
use crate::model_store::LoadedModel;
use crate::service::error::FieldError;

/// Most rows one request may carry (more go through `ScoreStream`).
pub const MAX_ROWS: usize = 10_000;

/// One input's elements: typed contents or raw little-endian bytes, in the tensor's datatype.
#[derive(Clone, Copy)]
enum Elements<'a> {
    Fp64(&'a [f64]),
    Int64(&'a [i64]),
    Bool(&'a [bool]),
    Bytes(&'a [Vec<u8>]),
    Raw(Datatype, &'a [u8]),
}

impl Elements<'_> {
    /// The number of elements.
    fn len(&self) -> usize {
        match *self {
            Self::Fp64(v) => v.len(),
            Self::Int64(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Bytes(v) => v.len(),
            Self::Raw(_, b) => b.len() / self.unit(),
        }
    }

    /// Bytes per element of raw contents (1 for typed contents: they are counted in values).
    fn unit(&self) -> usize {
        match *self {
            Self::Raw(Datatype::Fp64 | Datatype::Int64, _) => 8,
            _ => 1,
        }
    }

    /// The raw contents' length in bytes, or the number of typed values.
    fn bytes_or_values(&self) -> usize {
        match *self {
            Self::Raw(_, b) => b.len(),
            other => other.len(),
        }
    }

    /// Element `k` as a number (INT64 and BOOL exactly).
    #[inline]
    fn number(&self, k: usize) -> Result<f64, String> {
        let eight = |b: &[u8]| -> [u8; 8] { b[8 * k..8 * k + 8].try_into().expect("8 bytes") };
        Ok(match *self {
            Self::Fp64(v) => v[k],
            Self::Int64(v) => v[k] as f64,
            Self::Bool(v) => f64::from(u8::from(v[k])),
            Self::Raw(Datatype::Fp64, b) => f64::from_le_bytes(eight(b)),
            Self::Raw(Datatype::Int64, b) => i64::from_le_bytes(eight(b)) as f64,
            Self::Raw(Datatype::Bool, b) => match b[k] {
                0 => 0.0,
                1 => 1.0,
                other => return Err(format!("byte {other} is not a BOOL (0 or 1)")),
            },
            Self::Bytes(_) | Self::Raw(Datatype::Bytes, _) => {
                unreachable!("only numeric inputs are read as numbers")
            }
        })
    }
}

/// One input tensor, checked against what the model expects of it.
struct Tensor<'a> {
    name: &'a str,
    elements: Elements<'a>,
    /// Elements per row: 1, or F for the `[N, F]` tensor.
    width: usize,
}

/// A problem with a whole input tensor.
fn bad_input(name: &str, problem: impl std::fmt::Display) -> FieldError {
    FieldError::new(format!("input {name}"), problem)
}

/// A problem with one row's value of an input.
fn bad_value(name: &str, row: usize, problem: impl std::fmt::Display) -> FieldError {
    FieldError::new(format!("input {name}, row {row}"), problem)
}

/// The shape as the protocol writes it, e.g. `[3, 22]`.
fn shape_text(shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The rows of `shape` when it is `[N]` or `[N, width]` (`[N, 1]` for one value per row).
fn rows_of(shape: &[i64], width: usize) -> Option<usize> {
    let n = usize::try_from(*shape.first()?).ok()?;
    match shape {
        [_] if width == 1 => Some(n),
        [_, w] if usize::try_from(*w).ok() == Some(width) => Some(n),
        _ => None,
    }
}

/// An input without typed contents.
static NO_CONTENTS: InferTensorContents = InferTensorContents {
    bool_contents: Vec::new(),
    int_contents: Vec::new(),
    int64_contents: Vec::new(),
    uint_contents: Vec::new(),
    uint64_contents: Vec::new(),
    fp32_contents: Vec::new(),
    fp64_contents: Vec::new(),
    bytes_contents: Vec::new(),
};

/// The elements of `tensor` in `datatype`, from its typed contents or from `raw`.
fn elements<'a>(
    tensor: &'a InferInputTensor,
    datatype: Datatype,
    raw: Option<&'a [u8]>,
) -> Result<Elements<'a>, FieldError> {
    let name = tensor.name.as_str();
    let c = tensor.contents.as_ref().unwrap_or(&NO_CONTENTS);
    if let Some(raw) = raw {
        if c != &NO_CONTENTS {
            return Err(bad_input(
                name,
                "has typed contents while raw_input_contents is set; send one or the other",
            ));
        }
        return Ok(Elements::Raw(datatype, raw));
    }
    let (typed, others) = match datatype {
        Datatype::Fp64 => (Elements::Fp64(&c.fp64_contents), c.fp64_contents.len()),
        Datatype::Int64 => (Elements::Int64(&c.int64_contents), c.int64_contents.len()),
        Datatype::Bool => (Elements::Bool(&c.bool_contents), c.bool_contents.len()),
        Datatype::Bytes => (Elements::Bytes(&c.bytes_contents), c.bytes_contents.len()),
    };
    let all = c.bool_contents.len()
        + c.int_contents.len()
        + c.int64_contents.len()
        + c.uint_contents.len()
        + c.uint64_contents.len()
        + c.fp32_contents.len()
        + c.fp64_contents.len()
        + c.bytes_contents.len();
    if all != others {
        return Err(bad_input(
            name,
            format_args!(
                "has values in contents fields other than the one of its datatype {}",
                datatype.name()
            ),
        ));
    }
    Ok(typed)
}

/// Splits raw BYTES contents (4-byte little-endian length, then the bytes, per element) into
/// exactly `n` elements.
fn split_raw_bytes(name: &str, mut raw: &[u8], n: usize) -> Result<Vec<Vec<u8>>, FieldError> {
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        let Some((len, rest)) = raw.split_first_chunk::<4>() else {
            return Err(bad_input(
                name,
                format_args!(
                    "raw_input_contents ends at row {row} of {n}: no 4-byte length for it"
                ),
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(bad_value(
                name,
                row,
                format_args!(
                    "raw_input_contents says {len} bytes, only {} remain",
                    rest.len()
                ),
            ));
        }
        out.push(rest[..len].to_vec());
        raw = &rest[len..];
    }
    if !raw.is_empty() {
        return Err(bad_input(
            name,
            format_args!(
                "raw_input_contents has {} bytes after the {n} elements of its shape",
                raw.len()
            ),
        ));
    }
    Ok(out)
}

/// The customer ids of the rows, as sent: typed `bytes_contents`, or split from raw bytes.
enum Ids<'a> {
    Typed(&'a [Vec<u8>]),
    Split(Vec<Vec<u8>>),
}

/// The rows of `request`, as `model`'s profiles; a row without a `customer_id` is named
/// `<request_id>#<row>`.
///
/// # Errors
/// The first problem, with the input (and row) it is about: an unknown, repeated or missing
/// input, a datatype or shape other than the metadata's, contents that do not match the shape,
/// or a value a profile field does not accept.
pub fn profiles(
    model: &LoadedModel,
    request: &ModelInferRequest,
    request_id: &str,
) -> Result<Vec<CustomerProfile>, FieldError> {
    let raw = &request.raw_input_contents;
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(FieldError::new(
            "raw_input_contents",
            format_args!(
                "has {} entries for {} inputs; it needs one per input, in their order",
                raw.len(),
                request.inputs.len()
            ),
        ));
    }
    if request.inputs.is_empty() {
        return Err(FieldError::new(
            "inputs",
            "is empty; ModelMetadata lists the model's inputs",
        ));
    }
    let scoring = &model.scoring;
    let numeric: Vec<Field<'_>> = numeric_inputs(scoring).collect();
    let mut columns: Vec<Option<Tensor<'_>>> = numeric.iter().map(|_| None).collect();
    let mut matrix: Option<Tensor<'_>> = None;
    let mut ids: Option<(&str, Ids<'_>)> = None;
    let mut rows: Option<(usize, &str)> = None;
    for (i, tensor) in request.inputs.iter().enumerate() {
        let name = tensor.name.as_str();
        let raw = raw.get(i).map(Vec::as_slice);
        let field = Field::named(scoring, name);
        let (expected, width) = match field {
            _ if name == CUSTOMER_ID => (Datatype::Bytes, 1),
            Some(f) => (f.datatype(), 1),
            None if tensor.shape.len() == 2 => (Datatype::Fp64, numeric.len()),
            None => {
                return Err(bad_input(
                    name,
                    format_args!(
                        "is not an input of model {}: ModelMetadata lists them (or send one FP64 \
                         tensor of shape [N, {}] with every numeric input in its order)",
                        model.id.name,
                        numeric.len()
                    ),
                ))
            }
        };
        if tensor.datatype != expected.name() {
            return Err(bad_input(
                name,
                format_args!(
                    "datatype {:?} does not match the model's {}",
                    tensor.datatype,
                    expected.name()
                ),
            ));
        }
        let Some(n) = rows_of(&tensor.shape, width) else {
            let want = if width == 1 {
                "[N] or [N, 1]".to_owned()
            } else {
                format!("[N, {width}]")
            };
            return Err(bad_input(
                name,
                format_args!("shape {} does not match {want}", shape_text(&tensor.shape)),
            ));
        };
        match rows {
            None => rows = Some((n, name)),
            Some((m, other)) if m != n => {
                return Err(bad_input(
                    name,
                    format_args!("has {n} rows, input {other} has {m}; all inputs need the same"),
                ))
            }
            Some(_) => {}
        }
        let elements = elements(tensor, expected, raw)?;
        if name == CUSTOMER_ID {
            let given = match elements {
                Elements::Raw(_, bytes) => Ids::Split(split_raw_bytes(name, bytes, n)?),
                Elements::Bytes(typed) if typed.len() == n => Ids::Typed(typed),
                other => return Err(count_mismatch(tensor, other, n)),
            };
            if ids.replace((name, given)).is_some() {
                return Err(bad_input(name, "is given twice"));
            }
            continue;
        }
        if elements.bytes_or_values() != n * width * elements.unit() {
            return Err(count_mismatch(tensor, elements, n * width));
        }
        let placed = Tensor {
            name,
            elements,
            width,
        };
        let repeated = match field {
            Some(f) => {
                let at = numeric
                    .iter()
                    .position(|g| *g == f)
                    .expect("a numeric input");
                columns[at].replace(placed).is_some()
            }
            None => matrix.replace(placed).is_some(),
        };
        if repeated {
            return Err(bad_input(name, "is given twice"));
        }
    }
    let (n, _) = rows.expect("at least one input");
    if n == 0 {
        return Err(FieldError::new("inputs", "have no rows"));
    }
    if n > MAX_ROWS {
        return Err(FieldError::new(
            "inputs",
            format_args!(
                "have {n} rows, at most {MAX_ROWS} are allowed per request (ScoreStream takes any number)"
            ),
        ));
    }
    if let Some(m) = &matrix {
        if let Some(given) = columns.iter().flatten().next() {
            return Err(bad_input(
                given.name,
                format_args!(
                    "is given beside input {}, which already holds every numeric input",
                    m.name
                ),
            ));
        }
    } else if let Some((missing, _)) = numeric.iter().zip(&columns).find(|(_, c)| c.is_none()) {
        return Err(bad_input(
            &missing.name(),
            format_args!(
                "is required (model {} has {} numeric inputs; ModelMetadata lists them)",
                model.id.name,
                numeric.len()
            ),
        ));
    }

    let mut profiles = vec![CustomerProfile::blank(); n];
    for (j, field) in numeric.iter().enumerate() {
        let (tensor, offset) = match &matrix {
            Some(m) => (m, j),
            None => (columns[j].as_ref().expect("checked above"), 0),
        };
        let column = Column {
            tensor,
            offset,
            field: *field,
        };
        match *field {
            Field::Builtin(f) => with_setter!(f, |set| column.fill(f, &mut profiles, set))?,
            Field::Extra(key) => column.fill_extra(key, &mut profiles)?,
        }
    }
    match ids {
        Some((name, given)) => {
            let values = match &given {
                Ids::Typed(v) => *v,
                Ids::Split(v) => v.as_slice(),
            };
            for (row, (p, id)) in profiles.iter_mut().zip(values).enumerate() {
                let id = std::str::from_utf8(id)
                    .map_err(|_| bad_value(name, row, "is not UTF-8 text"))?;
                check_customer_id(id).map_err(|e| bad_value(name, row, e))?;
                p.customer_id = id.to_owned();
            }
        }
        None => {
            for (row, p) in profiles.iter_mut().enumerate() {
                p.customer_id = format!("{request_id}#{row}");
            }
        }
    }
    Ok(profiles)
}

/// INVALID_ARGUMENT for contents whose size does not match the shape's `want` elements.
fn count_mismatch(tensor: &InferInputTensor, elements: Elements<'_>, want: usize) -> FieldError {
    let shape = shape_text(&tensor.shape);
    let problem = match elements {
        Elements::Raw(_, b) => format!(
            "has {} bytes of raw_input_contents; shape {shape} needs {}",
            b.len(),
            want * elements.unit()
        ),
        other => format!(
            "has {} {} values in contents; shape {shape} needs {want}",
            other.len(),
            tensor.datatype
        ),
    };
    bad_input(&tensor.name, problem)
}

/// One numeric input's values, row after row: an input of its own, or a column of the
/// `[N, F]` tensor.
struct Column<'t, 'a> {
    tensor: &'t Tensor<'a>,
    offset: usize,
    field: Field<'a>,
}

impl Column<'_, '_> {
    /// The input's name in messages: its own, or the `[N, F]` tensor's with the column.
    fn name(&self) -> String {
        if self.tensor.width == 1 {
            self.tensor.name.to_owned()
        } else {
            format!(
                "{} (column {}, {})",
                self.tensor.name,
                self.offset,
                self.field.name()
            )
        }
    }

    /// Row `row`'s value.
    #[inline]
    fn value(&self, row: usize) -> Result<f64, FieldError> {
        let k = row * self.tensor.width + self.offset;
        self.tensor
            .elements
            .number(k)
            .map_err(|problem| bad_value(&self.name(), row, problem))
    }

    /// Stores typed field `f` of every profile with `set`, each value checked by `f`'s rule.
    #[inline(always)]
    fn fill(
        &self,
        f: BuiltinFeature,
        profiles: &mut [CustomerProfile],
        set: impl Fn(&mut CustomerProfile, f64),
    ) -> Result<(), FieldError> {
        let rule = f.rule();
        for (row, p) in profiles.iter_mut().enumerate() {
            let v = self.value(row)?;
            rule.check(v)
                .map_err(|problem| bad_value(&self.name(), row, problem))?;
            set(p, v);
        }
        Ok(())
    }

    /// Stores extra feature `key` of every profile; values must be finite.
    fn fill_extra(&self, key: &str, profiles: &mut [CustomerProfile]) -> Result<(), FieldError> {
        for (row, p) in profiles.iter_mut().enumerate() {
            let v = self.value(row)?;
            if !v.is_finite() {
                return Err(bad_value(&self.name(), row, FieldProblem::NotFinite(v)));
            }
            p.extra_features.insert(key.to_owned(), v);
        }
        Ok(())
    }
}
