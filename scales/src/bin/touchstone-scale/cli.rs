//! Command-line arguments of `touchstone-scale`.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use touchstone_scales::Protocol;
use touchstone_scales::driver::{
    DataBits, FlowControl, Parity, SerialSettings, StopBits, Terminator,
};

/// Balance tool for installers and support: list ports, probe, watch, decode, simulate.
#[derive(Debug, Parser)]
#[command(name = "touchstone-scale", version)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List serial ports with USB vendor, product and serial number.
    Ports,
    /// Find which balance answers on PORT, at which settings, without taring or zeroing it.
    Probe {
        /// The serial port, e.g. /dev/serial/by-id/usb-FTDI_...
        port: PathBuf,
        /// How long to wait for an answer per attempt, in milliseconds.
        #[arg(long, default_value_t = 600)]
        listen_ms: u64,
    },
    /// Print live readings from PORT, one line each.
    Watch {
        /// The serial port.
        port: PathBuf,
        /// The balance family.
        #[arg(long, value_parser = parse_protocol)]
        protocol: Protocol,
        /// Serial settings; the family's defaults where not given.
        #[command(flatten)]
        serial: SerialArgs,
        /// Poll with an immediate-weight request, or listen to a streaming balance.
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Time between polls, in milliseconds.
        #[arg(long, default_value_t = 200)]
        poll_ms: u64,
    },
    /// Decode raw balance output from standard input into JSON lines on standard output.
    Decode {
        /// The balance family.
        #[arg(long, value_parser = parse_protocol)]
        protocol: Protocol,
    },
    /// Start a virtual balance and print the port path to connect to.
    Simulate {
        /// The balance family.
        #[arg(long, value_parser = parse_protocol)]
        protocol: Protocol,
        /// Where to put the stable link to the pseudo-terminal.
        #[arg(long)]
        link: Option<PathBuf>,
        /// Print continuously instead of only answering requests.
        #[arg(long)]
        streaming: bool,
        /// Time a placed load takes to settle, in milliseconds.
        #[arg(long, default_value_t = 800)]
        settle_ms: u64,
        /// Put this many grams on the pan at start.
        #[arg(long)]
        load: Option<rust_decimal::Decimal>,
    },
}

fn parse_protocol(name: &str) -> Result<Protocol, String> {
    name.parse::<Protocol>().map_err(|err| err.to_string())
}

/// Polling or streaming.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Send a request at a set rate.
    Poll,
    /// The balance prints by itself.
    Stream,
}

/// Serial line settings on the command line.
#[derive(Debug, Clone, ClapArgs)]
pub struct SerialArgs {
    /// Baud rate.
    #[arg(long)]
    pub baud: Option<u32>,
    /// Data bits: 7 or 8.
    #[arg(long, value_parser = clap::value_parser!(u8).range(7..=8))]
    pub data_bits: Option<u8>,
    /// Parity.
    #[arg(long, value_enum)]
    pub parity: Option<ParityArg>,
    /// Stop bits: 1 or 2.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub stop_bits: Option<u8>,
    /// Flow control.
    #[arg(long, value_enum)]
    pub flow: Option<FlowArg>,
    /// Terminator for commands.
    #[arg(long, value_enum)]
    pub terminator: Option<TerminatorArg>,
}

/// Parity names.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ParityArg {
    /// No parity.
    None,
    /// Odd.
    Odd,
    /// Even.
    Even,
}

/// Flow control names.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FlowArg {
    /// None.
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// Terminator names.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TerminatorArg {
    /// CR LF.
    Crlf,
    /// CR.
    Cr,
    /// LF.
    Lf,
}

impl SerialArgs {
    /// The family's defaults with the given overrides.
    pub fn settings(&self, protocol: Protocol) -> SerialSettings {
        let mut settings = SerialSettings::defaults_for(protocol);
        if let Some(baud) = self.baud {
            settings.baud = baud;
        }
        if let Some(bits) = self.data_bits {
            settings.data_bits = if bits == 7 { DataBits::Seven } else { DataBits::Eight };
        }
        if let Some(parity) = self.parity {
            settings.parity = match parity {
                ParityArg::None => Parity::None,
                ParityArg::Odd => Parity::Odd,
                ParityArg::Even => Parity::Even,
            };
        }
        if let Some(stop) = self.stop_bits {
            settings.stop_bits = if stop == 2 { StopBits::Two } else { StopBits::One };
        }
        if let Some(flow) = self.flow {
            settings.flow_control = match flow {
                FlowArg::None => FlowControl::None,
                FlowArg::Software => FlowControl::Software,
                FlowArg::Hardware => FlowControl::Hardware,
            };
        }
        if let Some(terminator) = self.terminator {
            settings.terminator = match terminator {
                TerminatorArg::Crlf => Terminator::CrLf,
                TerminatorArg::Cr => Terminator::Cr,
                TerminatorArg::Lf => Terminator::Lf,
            };
        }
        settings
    }
}
