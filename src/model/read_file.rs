//! Reading one topology file into memory: bounded in size, checked to be UTF-8
//! (an error names the line and column of the first byte that is not), and,
//! from `PARALLEL_READ_BYTES` on, read in parts on every core.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{io_reason, LoadError, MAX_FILE_BYTES};
use crate::model::{Diagnostic, Loc};

/// Files from this size on are read in parts on every core: the kernel's copy and the
/// first touch of each fresh page are then shared instead of left to one thread.
const PARALLEL_READ_BYTES: u64 = 8 * 1024 * 1024;
/// The part one worker reads at a time.
const READ_PART_BYTES: usize = 1024 * 1024;

/// A file's bytes, at most `MAX_FILE_BYTES + 1` of them (the caller refuses more).
fn read_bytes(file: &fs::File) -> std::io::Result<Vec<u8>> {
    let size = file.metadata().map_or(0, |m| m.len()).min(MAX_FILE_BYTES + 1);
    #[cfg(unix)]
    if (PARALLEL_READ_BYTES..=MAX_FILE_BYTES).contains(&size) {
        if let Some(bytes) = read_parts(file, size)? {
            return Ok(bytes);
        }
    }
    // Sized from the start: growing a 40 MB buffer by doubling copies it several times.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A file of `size` bytes read in parts on every core; `None` when it changed size
/// meanwhile (the caller then reads it from the start, in one go).
#[cfg(unix)]
fn read_parts(file: &fs::File, size: u64) -> std::io::Result<Option<Vec<u8>>> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    let Ok(len) = usize::try_from(size) else {
        return Ok(None);
    };
    let mut bytes = vec![0u8; len];
    let read = bytes
        .par_chunks_mut(READ_PART_BYTES)
        .enumerate()
        .try_for_each(|(i, part)| file.read_exact_at(part, (i * READ_PART_BYTES) as u64));
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    // Grown since its size was read: not the whole file.
    if file.read_at(&mut [0u8; 1], size)? != 0 {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Reads a file as UTF-8 text, refusing oversized files and pointing at the
/// first byte that is not UTF-8.
pub(super) fn read_text(path: &Path) -> Result<String, LoadError> {
    let unreadable = |e: std::io::Error| LoadError::Unreadable {
        path: path.to_owned(),
        reason: io_reason(&e),
    };
    let file = fs::File::open(path).map_err(unreadable)?;
    let bytes = read_bytes(&file).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::Invalid(vec![Diagnostic {
            loc: Loc {
                file: path.to_owned(),
                line: 1,
                col: 1,
            },
            message: format!("file is larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
            hint: Some("split the topology into a directory with one file per team".to_owned()),
        }]));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        LoadError::Invalid(vec![Diagnostic {
            loc: Loc {
                file: path.to_owned(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
            },
            message: "file is not valid UTF-8".to_owned(),
            hint: Some("save the file as UTF-8".to_owned()),
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file large enough to be read in parts: its text as written, multi-byte characters
    /// across the parts' edges included; a byte that is not UTF-8 deep inside it is named
    /// by line and column as in a small file.
    #[test]
    fn a_large_file_read_in_parts_is_the_file() {
        let dir = std::env::temp_dir().join(format!("meshsynth-read-parts-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("org.yaml");
        let line = "# déjà vu, ünïcödé ✓ and 🦀 straddle the parts\n";
        let mut text = String::new();
        while (text.len() as u64) < PARALLEL_READ_BYTES + 3 * READ_PART_BYTES as u64 {
            text.push_str(line);
        }
        text.push_str("tail");
        fs::write(&path, &text).expect("write");
        assert_eq!(read_text(&path).expect("reads"), text);

        let lines = text.lines().count();
        let mut bytes = text.into_bytes();
        let at = bytes.len() - 2;
        bytes[at] = 0xff;
        fs::write(&path, &bytes).expect("write");
        let got = read_text(&path);
        fs::remove_dir_all(&dir).ok();
        let Err(LoadError::Invalid(d)) = got else {
            panic!("a byte that is not UTF-8 must fail")
        };
        assert_eq!((d[0].loc.line as usize, d[0].loc.col), (lines, 3), "{}", d[0]);
        assert_eq!(d[0].message, "file is not valid UTF-8");
    }
}
