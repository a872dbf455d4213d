//! A terminal for the end-to-end tests: a real pseudo-terminal whose output a VT100 parser turns
//! into a screen the tests read, and whose input is keys as a person types them. The program runs
//! in its own session with the pty as its controlling terminal, as a shell would start it, so it
//! sees a TTY on stdin, stdout and stderr, a window size, raw mode and Ctrl-C as on any terminal.
//!
//! It needs nothing but libc (no tmux, no screen), so `cargo test` runs it on a fresh machine.
//! It owns the pty and the child's process group; it knows nothing of eternalize.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A program running in a pseudo-terminal of a fixed size, killed (with its process group) when
/// dropped.
pub struct Terminal {
    /// The pty's master side: keys are written here, the reader thread reads the screen from a
    /// clone of it.
    master: File,
    child: Mutex<Child>,
    parser: Arc<Mutex<vt100::Parser<Answers>>>,
    /// Set by the reader once every holder of the pty's slave side has closed it: everything the
    /// program wrote is on the screen.
    drained: Arc<AtomicBool>,
}

/// What the terminal answers to the program's queries, gathered while the parser runs and
/// written back once it has.
#[derive(Default)]
struct Answers(Vec<u8>);

impl vt100::Callbacks for Answers {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        // Device status report `ESC[6n`: crossterm's cursor::position() (ratatui asks on a
        // resize) blocks until the terminal reports where the cursor is, 1-based.
        if c == 'n' && i1.is_none() && params == [&[6][..]] {
            let (row, col) = screen.cursor_position();
            self.0
                .extend(format!("\x1b[{};{}R", row + 1, col + 1).into_bytes());
        }
    }
}

impl Terminal {
    /// Starts `command` in a `width`×`height` terminal with TERM=xterm-256color (unless the
    /// command sets TERM itself).
    pub fn start(width: u16, height: u16, mut command: Command) -> Terminal {
        let (master, slave) = open_pty(width, height);
        if !command.get_envs().any(|(k, _)| k == "TERM") {
            command.env("TERM", "xterm-256color");
        }
        let stdio = || Stdio::from(slave.try_clone().expect("dup the pty's slave side"));
        command.stdin(stdio()).stdout(stdio()).stderr(stdio());
        // SAFETY: between fork and exec only async-signal-safe calls: setsid makes the child a
        // session (and process group) leader without a terminal, and TIOCSCTTY on its stdin (the
        // slave, already in place) makes the pty that session's controlling terminal.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", command.get_program()));
        // The child has its copies; ours would keep the reader from ever seeing the end.
        drop(command);
        drop(slave);

        let master = File::from(master);
        let nonzero = |n: u16| NonZeroU16::new(n).expect("a terminal of at least 1×1");
        let parser = Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(
            nonzero(height),
            nonzero(width),
            0,
            Answers::default(),
        )));
        let drained = Arc::new(AtomicBool::new(false));
        let mut from_program = master.try_clone().expect("dup the pty's master side");
        let mut to_program = master.try_clone().expect("dup the pty's master side");
        let (screen, done) = (Arc::clone(&parser), Arc::clone(&drained));
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from_program.read(&mut buf) {
                    // EIO: no one holds the slave side any more.
                    Ok(0) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                    Ok(n) => {
                        let answers = {
                            let mut p = screen.lock().unwrap_or_else(PoisonError::into_inner);
                            p.process(&buf[..n]);
                            std::mem::take(&mut p.callbacks_mut().0)
                        };
                        if !answers.is_empty() {
                            let _ = to_program.write_all(&answers);
                        }
                    }
                }
            }
            done.store(true, Ordering::SeqCst);
        });
        Terminal {
            master,
            child: Mutex::new(child),
            parser,
            drained,
        }
    }

    fn parser(&self) -> MutexGuard<'_, vt100::Parser<Answers>> {
        self.parser.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The visible text: one line per row, trailing blanks trimmed, a row the text wrapped out
    /// of joined with the next (as `tmux capture-pane -J` did).
    pub fn screen(&self) -> String {
        let p = self.parser();
        let screen = p.screen();
        let (rows, cols) = (screen.size().0.get(), screen.size().1.get());
        let mut text = String::new();
        for (i, row) in screen.rows(0, cols).enumerate() {
            text.push_str(&row);
            if i + 1 < usize::from(rows) && !screen.row_wrapped(i as u16) {
                text.push('\n');
            }
        }
        text
    }

    /// Each row's text and the foreground colours of its characters, each colour once.
    pub fn foreground_colours(&self) -> Vec<(String, Vec<vt100::Color>)> {
        let p = self.parser();
        let screen = p.screen();
        let (rows, cols) = (screen.size().0.get(), screen.size().1.get());
        screen
            .rows(0, cols)
            .zip(0..rows)
            .map(|(text, row)| {
                let mut colours = Vec::new();
                for col in 0..cols {
                    if let Some(cell) = screen.cell(row, col)
                        && cell.has_contents()
                        && !colours.contains(&cell.fgcolor())
                    {
                        colours.push(cell.fgcolor());
                    }
                }
                (text, colours)
            })
            .collect()
    }

    pub fn alternate_screen_on(&self) -> bool {
        self.parser().screen().alternate_screen()
    }

    /// Whether the terminal is in cooked mode (line editing and echo), as a shell expects it.
    /// Readable after the program has exited: the master reports the slave side's settings.
    pub fn cooked_mode(&self) -> bool {
        // SAFETY: tcgetattr fills the termios struct we pass, on a descriptor we own.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(self.master.as_raw_fd(), &mut t) };
        assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// Sends keys by their tmux names (`Enter`, `Escape`, `C-c`, `Up`, `Tab`, `BSpace`,
    /// `PageUp`, `Home`, …) or single characters, as the byte sequences an xterm sends.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.write(&key_bytes(key));
        }
    }

    /// Types `text` as it is.
    pub fn text(&self, text: &str) {
        self.write(text.as_bytes());
    }

    fn write(&self, bytes: &[u8]) {
        (&self.master)
            .write_all(bytes)
            .expect("write to the terminal");
    }

    /// Polls the screen until `ok` holds (10 s at most); returns that screen.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_up_to(Duration::from_secs(10), what, ok)
    }

    /// Polls the screen until `ok` holds (`limit` at most); returns that screen.
    pub fn wait_up_to(&self, limit: Duration, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                // A frame reaches the terminal in several writes, so the screen can match
                // before the frame is whole; give it a moment and read it again (still
                // matching) to return it.
                std::thread::sleep(Duration::from_millis(150));
                let again = self.screen();
                return if ok(&again) { again } else { s };
            }
            if start.elapsed() > limit {
                panic!("timed out waiting for {what}; the screen is:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// The program's exit status if it has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_wait()
            .expect("wait for the program")
    }

    /// Waits for the program to exit (`limit` at most) and for what it wrote to reach the
    /// screen; returns its exit status.
    pub fn wait_exit(&self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if start.elapsed() > limit {
                panic!(
                    "the program did not exit within {limit:?}; the screen is:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(40));
        };
        // The screen is complete once the slave side is closed everywhere. A child the program
        // left running could hold it open; the screen is then read as it is.
        let closed = Instant::now();
        while !self.drained.load(Ordering::SeqCst) && closed.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        status
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        // The program leads its own process group: take whatever it started along.
        // SAFETY: a signal to a process group we created; ESRCH once it has gone is fine.
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = child.wait();
    }
}

/// A pty of `width`×`height`: (master, slave). Both close on exec: tests run on parallel threads
/// that start processes too (anvils), and a stray copy of the slave would keep this terminal's
/// reader from ever seeing the end (openpty(3) gives inheritable descriptors, hence not it).
fn open_pty(width: u16, height: u16) -> (OwnedFd, OwnedFd) {
    let last_error = |what: &str| panic!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain libc calls on descriptors we own; each result is checked before use.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if fd < 0 {
            last_error("posix_openpt");
        }
        let master = OwnedFd::from_raw_fd(fd);
        if libc::grantpt(fd) != 0 || libc::unlockpt(fd) != 0 {
            last_error("grantpt/unlockpt");
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) != 0 {
            last_error("ptsname_r");
        }
        let fd = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            last_error("open the pty's slave side");
        }
        let slave = OwnedFd::from_raw_fd(fd);
        let size = libc::winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size) != 0 {
            last_error("TIOCSWINSZ");
        }
        (master, slave)
    }
}

/// The bytes an xterm sends for a key named as tmux names it (normal cursor-key mode, which
/// crossterm reads as well as application mode).
fn key_bytes(key: &str) -> Vec<u8> {
    let named: &[u8] = match key {
        "Enter" => b"\r",
        "Escape" => b"\x1b",
        "Tab" => b"\t",
        "BTab" => b"\x1b[Z",
        "BSpace" => b"\x7f",
        "Space" => b" ",
        "Up" => b"\x1b[A",
        "Down" => b"\x1b[B",
        "Right" => b"\x1b[C",
        "Left" => b"\x1b[D",
        "Home" => b"\x1b[H",
        "End" => b"\x1b[F",
        "PageUp" | "PPage" => b"\x1b[5~",
        "PageDown" | "NPage" => b"\x1b[6~",
        "Delete" | "DC" => b"\x1b[3~",
        _ => b"",
    };
    if !named.is_empty() {
        return named.to_vec();
    }
    let mut chars = key.chars();
    match (chars.next(), chars.next(), chars.next(), chars.next()) {
        // `C-c`: the control character of a letter.
        (Some('C'), Some('-'), Some(c), None) if c.is_ascii_alphabetic() => {
            vec![c.to_ascii_lowercase() as u8 & 0x1f]
        }
        (Some(c), None, ..) => c.to_string().into_bytes(),
        _ => panic!("no key named {key:?} (type text with `text`)"),
    }
}
