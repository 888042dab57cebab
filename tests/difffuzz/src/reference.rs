//! The reference's parser behind a pipe: a `gobatch` child process that answers each framed
//! body with its canonical line.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, Result, bail};

#[derive(Debug)]
pub(crate) struct Reference {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Reference {
    pub(crate) fn start(gobatch: &Path) -> Result<Reference> {
        let mut child = Command::new(gobatch)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", gobatch.display()))?;
        let stdin = BufWriter::with_capacity(1 << 20, child.stdin.take().unwrap());
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
        Ok(Reference {
            child,
            stdin,
            stdout,
        })
    }

    /// The reference's lines for `inputs`, in order. `meanwhile` runs while the child parses
    /// (the frames are written from another thread, so neither side waits on a full pipe).
    pub(crate) fn parse_batch<T>(
        &mut self,
        inputs: &[Vec<u8>],
        meanwhile: impl FnOnce() -> T,
    ) -> Result<(Vec<String>, T)> {
        let Reference { stdin, stdout, .. } = self;
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> std::io::Result<()> {
                for input in inputs {
                    write_frame(stdin, input)?;
                }
                stdin.flush()
            });
            let ours = meanwhile();
            let mut lines = Vec::with_capacity(inputs.len());
            for _ in inputs {
                lines.push(read_line(stdout)?);
            }
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?
                .context("writing to gobatch")?;
            Ok((lines, ours))
        })
    }

    /// The reference's line for one input.
    pub(crate) fn parse_one(&mut self, input: &[u8]) -> Result<String> {
        write_frame(&mut self.stdin, input).context("writing to gobatch")?;
        self.stdin.flush().context("writing to gobatch")?;
        read_line(&mut self.stdout)
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        // The child holds no state worth a clean exit.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_frame(out: &mut impl Write, input: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(input.len()).expect("inputs are far below 4 GiB");
    out.write_all(&length.to_le_bytes())?;
    out.write_all(input)
}

fn read_line(input: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    if input.read_line(&mut line).context("reading from gobatch")? == 0 {
        bail!("gobatch ended early (did it crash?)");
    }
    line.pop();
    Ok(line)
}
