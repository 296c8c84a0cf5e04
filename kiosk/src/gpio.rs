//! The bench's lamps, buzzer and foot switch.
//!
//! [`Signals`] turns the bench's cues into lamp and buzzer states; what drives them is a
//! [`Backend`]: the Raspberry Pi's pins through rppal, or an in-memory one so the kiosk runs
//! anywhere (the screen then shows the lamp). The foot switch is debounced by
//! [`Debouncer`], a pure state machine over edges and times, so the same rule holds on the
//! Pi and in tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bench::Signal;
use crate::config::{GpioPins, GpioSettings};

/// Which lamp is lit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lamp {
    /// Nothing lit (not started).
    #[default]
    Off,
    /// Ready.
    Green,
    /// Waiting: settling, saving.
    Amber,
    /// Refused.
    Red,
}

/// How long the buzzer sounds for a cue, if at all.
pub fn buzz_for(signal: Signal) -> Option<Duration> {
    match signal {
        Signal::Refused => Some(Duration::from_millis(600)),
        Signal::Done => Some(Duration::from_millis(80)),
        Signal::Ready | Signal::Waiting => None,
    }
}

/// The lamp a cue lights.
pub fn lamp_for(signal: Signal) -> Lamp {
    match signal {
        Signal::Ready | Signal::Done => Lamp::Green,
        Signal::Waiting => Lamp::Amber,
        Signal::Refused => Lamp::Red,
    }
}

/// Turns a foot switch's raw edges into presses, on the leading edge: a closing edge counts
/// when the line has been quiet for the debounce time before it, so the chatter of a contact
/// closing or opening is one press and holding the pedal down is one press. The Pi's kernel
/// filters short spikes before this where it supports line debouncing.
#[derive(Debug, Clone)]
pub struct Debouncer {
    hold: Duration,
    last_edge: Option<Duration>,
    closed: bool,
}

impl Debouncer {
    /// A debouncer that ignores edges closer than `hold` to the previous one.
    pub fn new(hold: Duration) -> Self {
        Debouncer { hold, last_edge: None, closed: false }
    }

    /// The contact closed (`true`) or opened at `at`; true when this is a press.
    pub fn edge(&mut self, closed: bool, at: Duration) -> bool {
        let quiet = self.last_edge.is_none_or(|last| at.saturating_sub(last) >= self.hold);
        self.last_edge = Some(at);
        let was_closed = std::mem::replace(&mut self.closed, closed);
        closed && !was_closed && quiet
    }
}

/// What the lamps and buzzer are doing now, for the screen (and the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PanelState {
    /// The lit lamp.
    pub lamp: Lamp,
    /// How many times the buzzer sounded since start.
    pub buzzes: u64,
}

/// The hardware behind the cues.
pub trait Backend: Send {
    /// Lights one lamp (and darkens the others).
    fn lamp(&mut self, lamp: Lamp);
    /// Sounds the buzzer for `length`; returns at once.
    fn buzz(&mut self, length: Duration);
}

/// Lamps and buzzer in memory only.
#[derive(Debug, Default)]
pub struct Simulated;

impl Backend for Simulated {
    fn lamp(&mut self, _lamp: Lamp) {}
    fn buzz(&mut self, _length: Duration) {}
}

/// The bench's cues, carried out on a backend and remembered for the screen.
#[derive(Clone)]
pub struct Signals {
    backend: Arc<Mutex<Box<dyn Backend>>>,
    state: Arc<Mutex<PanelState>>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Signals {
    /// Cues on a backend.
    pub fn new(backend: Box<dyn Backend>) -> Self {
        Signals {
            backend: Arc::new(Mutex::new(backend)),
            state: Arc::new(Mutex::new(PanelState::default())),
        }
    }

    /// In memory only.
    pub fn simulated() -> Self {
        Signals::new(Box::new(Simulated))
    }

    /// Carries out a cue.
    pub fn signal(&self, signal: Signal) {
        let lamp = lamp_for(signal);
        let buzz = buzz_for(signal);
        if let Ok(mut backend) = self.backend.lock() {
            backend.lamp(lamp);
            if let Some(length) = buzz {
                backend.buzz(length);
            }
        }
        if let Ok(mut state) = self.state.lock() {
            state.lamp = lamp;
            state.buzzes += u64::from(buzz.is_some());
        }
    }

    /// What the panel shows now.
    pub fn state(&self) -> PanelState {
        self.state.lock().map(|s| *s).unwrap_or_default()
    }
}

/// Why the GPIO could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("GPIO: {0}")]
pub struct GpioError(String);

/// Opens the configured backend. The foot switch, when wired, calls `on_press` from its own
/// thread after debouncing.
pub fn open(
    settings: &GpioSettings,
    debounce: Duration,
    on_press: impl FnMut() + Send + 'static,
) -> Result<Signals, GpioError> {
    match settings {
        GpioSettings::Simulated => {
            drop(on_press);
            Ok(Signals::simulated())
        }
        GpioSettings::Rppal(pins) => {
            Ok(Signals::new(Box::new(pi::Pins::open(*pins, debounce, on_press)?)))
        }
    }
}

/// The Raspberry Pi's pins through rppal (character device, BCM numbering).
mod pi {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use rppal::gpio::{Event, Gpio, InputPin, OutputPin, Trigger};

    use super::{Backend, Debouncer, GpioError, GpioPins, Lamp};

    pub struct Pins {
        green: Option<OutputPin>,
        amber: Option<OutputPin>,
        red: Option<OutputPin>,
        buzzer: Option<std::sync::mpsc::Sender<Duration>>,
        _foot: Option<InputPin>,
    }

    fn output(gpio: &Gpio, pin: Option<u8>) -> Result<Option<OutputPin>, GpioError> {
        pin.map(|n| {
            gpio.get(n)
                .map(|p| p.into_output_low())
                .map_err(|err| GpioError(format!("pin {n}: {err}")))
        })
        .transpose()
    }

    impl Pins {
        pub fn open(
            pins: GpioPins,
            debounce: Duration,
            on_press: impl FnMut() + Send + 'static,
        ) -> Result<Pins, GpioError> {
            let gpio = Gpio::new().map_err(|err| GpioError(err.to_string()))?;
            let buzzer = match output(&gpio, pins.buzzer)? {
                Some(mut pin) => {
                    // The buzzer has its own thread so a cue never blocks the screen.
                    let (tx, rx) = std::sync::mpsc::channel::<Duration>();
                    std::thread::spawn(move || {
                        while let Ok(length) = rx.recv() {
                            pin.set_high();
                            std::thread::sleep(length);
                            pin.set_low();
                        }
                    });
                    Some(tx)
                }
                None => None,
            };
            let foot = match pins.foot_switch {
                Some(n) => {
                    let mut pin = gpio
                        .get(n)
                        .map_err(|err| GpioError(format!("pin {n}: {err}")))?
                        .into_input_pullup();
                    let start = Instant::now();
                    let press: Box<dyn FnMut() + Send> = Box::new(on_press);
                    let state = Arc::new(Mutex::new((Debouncer::new(debounce), press)));
                    // The kernel's line debouncing where it has it; the debouncer either way.
                    let kernel = pin.set_async_interrupt(
                        Trigger::Both,
                        Some(debounce),
                        handler(state.clone(), start),
                    );
                    if let Err(err) = kernel {
                        tracing::info!(error = %err, "no kernel debouncing; filtering in software");
                        pin.set_async_interrupt(Trigger::Both, None, handler(state, start))
                            .map_err(|err| GpioError(format!("foot switch pin {n}: {err}")))?;
                    }
                    Some(pin)
                }
                None => None,
            };
            Ok(Pins {
                green: output(&gpio, pins.green)?,
                amber: output(&gpio, pins.amber)?,
                red: output(&gpio, pins.red)?,
                buzzer,
                _foot: foot,
            })
        }
    }

    type Shared = Arc<Mutex<(Debouncer, Box<dyn FnMut() + Send>)>>;

    /// An interrupt handler feeding edges to the debouncer; pressed pulls the pin low.
    fn handler(state: Shared, start: Instant) -> impl FnMut(Event) + Send + 'static {
        move |event| {
            let closed = event.trigger == Trigger::FallingEdge;
            if let Ok(mut guard) = state.lock() {
                let (debouncer, press) = &mut *guard;
                if debouncer.edge(closed, start.elapsed()) {
                    press();
                }
            }
        }
    }

    impl Backend for Pins {
        fn lamp(&mut self, lamp: Lamp) {
            for (pin, lit) in [
                (&mut self.green, lamp == Lamp::Green),
                (&mut self.amber, lamp == Lamp::Amber),
                (&mut self.red, lamp == Lamp::Red),
            ] {
                if let Some(pin) = pin {
                    if lit { pin.set_high() } else { pin.set_low() }
                }
            }
        }

        fn buzz(&mut self, length: Duration) {
            if let Some(buzzer) = &self.buzzer {
                let _ = buzzer.send(length);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn holding_the_pedal_is_one_press() {
        let mut d = Debouncer::new(ms(30));
        assert!(d.edge(true, ms(1000)));
        assert!(!d.edge(false, ms(2000)));
        assert!(d.edge(true, ms(3000)), "a second press after a pause counts");
    }

    #[test]
    fn contact_chatter_is_one_press() {
        let mut d = Debouncer::new(ms(30));
        let mut presses = 0;
        // The contact chatters for 12 ms closing, and again opening.
        for (i, closed) in [true, false, true, false, true, false, true].into_iter().enumerate() {
            presses += u32::from(d.edge(closed, ms(1000 + 2 * i as u64)));
        }
        for (i, closed) in [false, true, false, true, false].into_iter().enumerate() {
            presses += u32::from(d.edge(closed, ms(1500 + 2 * i as u64)));
        }
        presses += u32::from(d.edge(true, ms(2000)));
        assert_eq!(presses, 2);
    }

    #[test]
    fn cues_light_one_lamp_and_buzz_for_refusals() {
        let signals = Signals::simulated();
        signals.signal(Signal::Waiting);
        assert_eq!(signals.state(), PanelState { lamp: Lamp::Amber, buzzes: 0 });
        signals.signal(Signal::Refused);
        assert_eq!(signals.state(), PanelState { lamp: Lamp::Red, buzzes: 1 });
        signals.signal(Signal::Ready);
        assert_eq!(signals.state().lamp, Lamp::Green);
    }
}
