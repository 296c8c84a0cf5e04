//! A serial barcode scanner through a real pseudo-terminal: codes arrive whole whatever the
//! line ending, line noise is dropped, and an unplugged scanner is read again once it is back.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_serial::{SerialPort, SerialStream};
use touchstone_kiosk::scanner::run_serial;

async fn next(codes: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), codes.recv()).await.unwrap().unwrap()
}

/// A pty pair whose slave is reachable at `link`, as udev would name a scanner.
fn plug(link: &std::path::Path) -> (SerialStream, SerialStream) {
    let (master, slave) = SerialStream::pair().unwrap();
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(slave.name().unwrap(), link).unwrap();
    (master, slave)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_scans_arrive_whole_and_noise_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scanner");
    let (mut master, _slave) = plug(&link);
    let (tx, mut codes) = mpsc::unbounded_channel();
    let reader = tokio::spawn(run_serial(link.clone(), 9600, move |code| tx.send(code).is_ok()));

    tokio::time::sleep(Duration::from_millis(300)).await;
    // A Code 128 envelope with its symbology identifier, split across two writes.
    master.write_all(b"]C1J-2026-").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    master.write_all(b"0147\r\n").await.unwrap();
    assert_eq!(next(&mut codes).await, "J-2026-0147");
    // Noise, then a Data Matrix stone label ending in a lone CR.
    master.write_all(b"\x00\x1b\x07\xff\r\n]d2ST-40122\r").await.unwrap();
    assert_eq!(next(&mut codes).await, "ST-40122");
    master.write_all(b"B-10425\n").await.unwrap();
    assert_eq!(next(&mut codes).await, "B-10425");
    reader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_scanner_is_read_again_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scanner");
    let (mut master, slave) = plug(&link);
    let (tx, mut codes) = mpsc::unbounded_channel();
    let reader = tokio::spawn(run_serial(link.clone(), 9600, move |code| tx.send(code).is_ok()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    master.write_all(b"B-10425\r\n").await.unwrap();
    assert_eq!(next(&mut codes).await, "B-10425");

    // Unplug: the pty goes away with its link.
    drop(master);
    drop(slave);
    std::fs::remove_file(&link).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (mut master, _slave) = plug(&link);
    // The reader retries with backoff; keep offering the code until it is read.
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            master.write_all(b"J-2026-0169\r\n").await.unwrap();
            if let Ok(Some(code)) =
                tokio::time::timeout(Duration::from_millis(500), codes.recv()).await
            {
                return code;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(read, "J-2026-0169");
    reader.abort();
}
