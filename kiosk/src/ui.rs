//! Drawing the bench's screens. Nothing here decides anything: each function draws what a
//! [`Frame`] holds and returns the taps it saw, which the app hands to the bench.
//!
//! Made for a 7 inch touchscreen at 800x480 and up, used with gloves: every control is at
//! least [`TOUCH`] points tall, the live weight is drawn in digits readable from a metre,
//! colours are strong and always come with words, and nothing depends on hovering.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use egui::{Align, Color32, CornerRadius, FontId, Layout, Margin, RichText, Stroke, Ui, Vec2};
use rust_decimal::Decimal;
use touchstone_model::event::{Fact, Stability, WeightPurpose};
use touchstone_model::rules::LossVerdict;
use touchstone_model::workshop::Component;
use touchstone_scales::sim::SimBalance;
use touchstone_scales::{BalanceView, ConnectionState, Status};

use crate::bench::{
    Action, Bench, HOLD_REASONS, Interlock, JobView, NOTES, Screen, StageLoss, hold_words,
    purpose_words, stage_loss,
};
use crate::cache::MasterData;
use crate::gpio::{Lamp, PanelState};
use crate::journal::{Entry, JournalStats};
use crate::station::{DiskLevel, DiskSpace};
use crate::uplink::LinkState;

/// The smallest height of anything a finger must hit.
pub const TOUCH: f32 = 68.0;

const GREEN: Color32 = Color32::from_rgb(0x1b, 0x7a, 0x3a);
const AMBER: Color32 = Color32::from_rgb(0xb0, 0x5e, 0x00);
const RED: Color32 = Color32::from_rgb(0xc0, 0x1c, 0x1c);
const INK: Color32 = Color32::from_rgb(0x14, 0x18, 0x1f);
const MUTED: Color32 = Color32::from_rgb(0x4a, 0x52, 0x5e);
const PAPER: Color32 = Color32::from_rgb(0xf6, 0xf6, 0xf3);
const CARD: Color32 = Color32::WHITE;
const HEADER: Color32 = Color32::from_rgb(0x1f, 0x2a, 0x38);
const BLUE: Color32 = Color32::from_rgb(0x1d, 0x4e, 0x89);

/// What a frame shows.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The bench.
    pub bench: &'a Bench,
    /// The cached workshop.
    pub master: &'a MasterData,
    /// The balance, if one is configured.
    pub balance: Option<&'a BalanceView>,
    /// What the balance's family can be asked: tare, zero, identity.
    pub balance_can: BalanceCan,
    /// The link to the gateway.
    pub link: &'a LinkState,
    /// The journal's counts.
    pub journal: JournalStats,
    /// The journal disk's free space, when it could be read.
    pub disk: Option<DiskSpace>,
    /// The lamps.
    pub panel: PanelState,
    /// Recent events for the history screen.
    pub history: &'a [Entry],
    /// A passing message from the runtime.
    pub notice: Option<&'a str>,
    /// Software version.
    pub version: &'a str,
    /// Where the journal lives.
    pub data_dir: &'a Path,
    /// The demo's helpers.
    pub demo: Option<&'a Demo>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The commands a balance family has, so the screen offers only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BalanceCan {
    /// Tare.
    pub tare: bool,
    /// Zero.
    pub zero: bool,
    /// Report its serial number and model.
    pub identify: bool,
}

impl BalanceCan {
    /// What the family of the balance behind `view` has commands for.
    pub fn of(view: Option<&BalanceView>) -> BalanceCan {
        use touchstone_scales::command::{Command, encode};
        let protocol =
            view.and_then(|v| v.identity.protocol.parse::<touchstone_scales::Protocol>().ok());
        let can = |command| protocol.is_some_and(|p| encode(p, command).is_some());
        BalanceCan {
            tare: can(Command::Tare),
            zero: can(Command::Zero),
            identify: can(Command::Serial),
        }
    }
}

/// A tap the screen saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Tap {
    /// An action for the bench.
    Bench(Action),
    /// A code chosen on the demo's strip, as if scanned.
    Scan(String),
    /// A demo helper.
    Demo(DemoTap),
}

/// The demo's helpers for the virtual balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoTap {
    /// Put this many grams on the pan.
    Place(Decimal),
    /// Take everything off.
    Remove,
}

/// The demo strip: codes to "scan" by touch and loads for the virtual balance.
#[derive(Debug, Clone)]
pub struct Demo {
    /// What to offer for scanning.
    pub codes: DemoCodes,
    /// Loads offered for the pan, in grams.
    pub loads: Vec<Decimal>,
    /// The virtual balance and the runtime it runs on.
    pub balance: Option<(Arc<SimBalance>, tokio::runtime::Handle)>,
}

impl Demo {
    /// Carries out a demo helper.
    pub fn act(&self, tap: DemoTap) {
        let Some((balance, runtime)) = &self.balance else { return };
        let balance = balance.clone();
        runtime.spawn(async move {
            let result = match tap {
                DemoTap::Place(grams) => balance.place(grams).await,
                DemoTap::Remove => balance.remove().await,
            };
            if let Err(err) = result {
                tracing::warn!(error = %err, "virtual balance did not take the load");
            }
        });
    }
}

/// Sets the kiosk's look: large type, light and high in contrast.
pub fn style(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        use egui::TextStyle;
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(30.0)),
            (TextStyle::Body, FontId::proportional(20.0)),
            (TextStyle::Button, FontId::proportional(22.0)),
            (TextStyle::Small, FontId::proportional(16.0)),
            (TextStyle::Monospace, FontId::monospace(20.0)),
        ]
        .into();
        style.spacing.item_spacing = Vec2::new(10.0, 10.0);
        style.spacing.button_padding = Vec2::new(16.0, 10.0);
        style.spacing.interact_size.y = TOUCH;
        style.spacing.scroll.bar_width = 14.0;
        style.visuals.panel_fill = PAPER;
        style.visuals.override_text_color = Some(INK);
        style.interaction.tooltip_delay = f32::INFINITY;
    });
}

/// Draws one frame and returns the taps.
pub fn draw(ui: &mut Ui, frame: &Frame<'_>) -> Vec<Tap> {
    let mut taps = Vec::new();
    egui::Panel::top("header")
        .frame(egui::Frame::new().fill(HEADER).inner_margin(Margin::symmetric(14, 8)))
        .show(ui, |ui| header(ui, frame));
    if let Some(demo) = frame.demo {
        egui::Panel::bottom("demo")
            .frame(egui::Frame::new().fill(Color32::from_rgb(0xe4, 0xe7, 0xee)).inner_margin(6))
            .show(ui, |ui| demo_strip(ui, demo, &mut taps));
    }
    egui::Panel::bottom("actions")
        .frame(egui::Frame::new().fill(PAPER).inner_margin(Margin::symmetric(12, 8)))
        .show(ui, |ui| actions(ui, frame, &mut taps));
    let narrow = ui.available_width() < 960.0;
    egui::Panel::right("balance")
        .exact_size(if narrow { 210.0 } else { 260.0 })
        .frame(egui::Frame::new().fill(CARD).inner_margin(12).stroke(Stroke::new(1.0, MUTED)))
        .show(ui, |ui| balance(ui, frame));
    let fill = match frame.bench.screen() {
        Screen::Refused(_) => RED,
        Screen::ConfirmLoss { .. } => Color32::from_rgb(0xfb, 0xe9, 0xc8),
        _ => PAPER,
    };
    egui::CentralPanel::default().frame(egui::Frame::new().fill(fill).inner_margin(14)).show(
        ui,
        |ui| {
            banner(ui, frame);
            screen(ui, frame);
        },
    );
    taps
}

fn header(ui: &mut Ui, frame: &Frame<'_>) {
    let station = frame.bench.station(frame.master);
    let stages: Vec<String> =
        station.stages.iter().map(|s| stage_name(frame.master, s.as_str())).collect();
    // On a 7 inch screen the stage names and the role give way to the link and the backlog.
    let wide = ui.available_width() >= 960.0;
    ui.spacing_mut().interact_size.y = 40.0;
    ui.horizontal(|ui| {
        ui.label(RichText::new(&station.name).color(Color32::WHITE).size(22.0).strong());
        if wide {
            ui.label(RichText::new(stages.join(", ")).color(Color32::from_gray(200)).size(17.0));
        }
        ui.add_space(14.0);
        let who = match frame.bench.operator() {
            Some(op) if wide => format!("{} ({})", op.name, op.role.as_str()),
            Some(op) => op.name.clone(),
            None => "Nobody signed in".to_owned(),
        };
        ui.label(RichText::new(who).color(Color32::WHITE).size(22.0));
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if let Some((text, color)) = disk_words(frame.disk) {
                ui.label(RichText::new(text).color(color).size(18.0).strong());
                ui.add_space(12.0);
            }
            let backlog = frame.journal.backlog;
            let (text, color) = if backlog == 0 {
                ("All saved centrally".to_owned(), Color32::from_gray(210))
            } else {
                (format!("{backlog} waiting to send"), Color32::from_rgb(0xff, 0xc8, 0x57))
            };
            ui.label(RichText::new(text).color(color).size(18.0));
            ui.add_space(12.0);
            let (text, color) = link_words(frame.link, frame.now);
            ui.label(RichText::new(text).color(Color32::WHITE).size(18.0).strong());
            dot(ui, color);
        });
    });
}

/// A warning about the journal's disk, when there is one to give.
pub fn disk_words(disk: Option<DiskSpace>) -> Option<(String, Color32)> {
    let disk = disk?;
    #[expect(clippy::cast_precision_loss, reason = "shown to one decimal")]
    let gb = disk.free as f64 / 1e9;
    match disk.level() {
        DiskLevel::Fine => None,
        DiskLevel::Low => Some((
            format!("Disk low: {gb:.1} GB left, call IT"),
            Color32::from_rgb(0xff, 0xc8, 0x57),
        )),
        DiskLevel::Critical => {
            Some((format!("DISK FULL SOON: {gb:.2} GB left"), Color32::from_rgb(0xff, 0x5c, 0x5c)))
        }
    }
}

fn dot(ui: &mut Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(18.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 8.0, color);
}

/// The link in words and a colour.
pub fn link_words(link: &LinkState, now: DateTime<Utc>) -> (String, Color32) {
    match link {
        LinkState::Connecting => ("Connecting".into(), AMBER),
        LinkState::Online { .. } => ("Online".into(), Color32::from_rgb(0x3c, 0xc8, 0x6a)),
        LinkState::Offline { since, .. } => {
            (format!("Offline {}", ago(now, *since)), Color32::from_rgb(0xff, 0x5c, 0x5c))
        }
    }
}

fn ago(now: DateTime<Utc>, since: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0 => "just now".into(),
        1..=59 => format!("{minutes} min"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}

fn stage_name(master: &MasterData, id: &str) -> String {
    master
        .stages
        .iter()
        .find(|s| s.id.as_str() == id)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// The balance panel's words: the weight, its unit and the state line with its colour.
pub fn weight_words(view: Option<&BalanceView>) -> (String, String, String, Color32) {
    let Some(view) = view else {
        return ("----".into(), String::new(), "No balance at this bench".into(), MUTED);
    };
    if view.state != ConnectionState::Connected {
        let state = match &view.state {
            ConnectionState::Connecting => "Balance: connecting".to_owned(),
            ConnectionState::Silent => "Balance silent: is it on?".to_owned(),
            ConnectionState::Garbled => "Balance unreadable: check its settings".to_owned(),
            ConnectionState::Disconnected { .. } => "Balance not connected".to_owned(),
            ConnectionState::WrongBalance { .. } => "Wrong balance on this port".to_owned(),
            ConnectionState::Probing => "Balance: probing its settings".to_owned(),
            ConnectionState::Stopped | ConnectionState::Connected => "Balance stopped".to_owned(),
        };
        return ("----".into(), String::new(), state, RED);
    }
    let Some(reading) = &view.latest else {
        return ("----".into(), String::new(), "Waiting for the balance".into(), AMBER);
    };
    let value = reading.value.clone().unwrap_or_else(|| "----".into());
    let unit = reading.unit.as_ref().map(|u| u.raw.clone()).unwrap_or_default();
    let (state, color) = match &reading.status {
        Status::Overload => ("Overload: too heavy".to_owned(), RED),
        Status::Underload => ("Underload: check the pan".to_owned(), RED),
        Status::Error { code } => (format!("Balance error {code}"), RED),
        Status::Ack | Status::Ok => match reading.stability {
            Some(Stability::Unstable) => ("Settling...".to_owned(), AMBER),
            Some(_) => ("Stable".to_owned(), GREEN),
            None if view.settled => ("Stable (held still)".to_owned(), GREEN),
            None => ("Settling...".to_owned(), AMBER),
        },
    };
    (value, unit, state, color)
}

fn balance(ui: &mut Ui, frame: &Frame<'_>) {
    let (value, unit, state, color) = weight_words(frame.balance);
    ui.label(RichText::new("BALANCE").size(16.0).color(MUTED).strong());
    ui.horizontal(|ui| {
        let size = if ui.available_width() < 240.0 { 44.0 } else { 54.0 };
        ui.label(RichText::new(&value).font(FontId::monospace(size)).color(INK).strong());
        ui.label(RichText::new(&unit).size(26.0).color(MUTED));
    });
    egui::Frame::new().fill(color).corner_radius(CornerRadius::same(6)).inner_margin(8).show(
        ui,
        |ui| {
            ui.set_min_width(ui.available_width());
            ui.label(RichText::new(&state).color(Color32::WHITE).size(20.0).strong());
        },
    );
    ui.add_space(12.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new("Light").size(16.0).color(MUTED));
        let (color, word) = match frame.panel.lamp {
            Lamp::Off => (Color32::from_gray(180), "off"),
            Lamp::Green => (GREEN, "ready"),
            Lamp::Amber => (AMBER, "waiting"),
            Lamp::Red => (RED, "refused"),
        };
        dot(ui, color);
        ui.label(RichText::new(word).size(16.0).color(MUTED));
    });
}

fn banner(ui: &mut Ui, frame: &Frame<'_>) {
    let text = match (frame.notice, frame.bench.banner()) {
        (Some(notice), _) => Some((notice.to_owned(), false)),
        (None, Some(banner)) => Some((banner.text.clone(), banner.good)),
        (None, None) => None,
    };
    if frame.bench.is_saving() {
        strip(ui, "Saving...", AMBER);
    } else if let Some((text, good)) = text {
        strip(ui, &text, if good { GREEN } else { AMBER });
    }
}

fn strip(ui: &mut Ui, text: &str, color: Color32) {
    egui::Frame::new().fill(color).corner_radius(CornerRadius::same(6)).inner_margin(8).show(
        ui,
        |ui| {
            ui.set_min_width(ui.available_width());
            ui.label(RichText::new(text).color(Color32::WHITE).size(20.0).strong());
        },
    );
    ui.add_space(6.0);
}

fn big_prompt(ui: &mut Ui, title: &str, detail: &str) {
    ui.add_space(30.0);
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(title).size(40.0).strong().color(INK));
        ui.add_space(10.0);
        ui.label(RichText::new(detail).size(22.0).color(MUTED));
    });
}

fn screen(ui: &mut Ui, frame: &Frame<'_>) {
    let bench = frame.bench;
    match bench.screen() {
        Screen::SignIn => big_prompt(ui, "Scan your badge", "to sign in at this bench"),
        Screen::Ready => big_prompt(ui, "Scan a job envelope", "or a stone packet after the job"),
        Screen::Job => match bench.job_view(frame.master, frame.now) {
            Some(view) => job_card(ui, frame, &view),
            None => big_prompt(ui, "Job not in this bench's data", "Scan another envelope"),
        },
        Screen::Weighing { purpose, capturing } => weighing(ui, frame, *purpose, *capturing),
        Screen::ConfirmLoss { assessment, .. } => {
            ui.label(RichText::new("Loss over the warning line").size(32.0).strong());
            ui.add_space(8.0);
            let view = bench.job_view(frame.master, frame.now);
            let band = view.as_ref().and_then(|v| {
                let stage = v.stage_in_progress()?;
                touchstone_model::workshop::LossBand::find(
                    &frame.master.loss_bands,
                    stage,
                    &v.job.alloy,
                )
            });
            loss_lines(ui, assessment, band);
            ui.add_space(8.0);
            ui.label("Check the bench and the dust tray. Confirm only if this is right.");
        }
        Screen::HoldReasons => {
            ui.label(RichText::new("Why is the job on hold?").size(30.0).strong());
        }
        Screen::Notes => {
            ui.label(RichText::new("Add a note").size(30.0).strong());
        }
        Screen::Refused(interlock) => refused(ui, interlock),
        Screen::History => history(ui, frame),
        Screen::SupervisorGate => {
            big_prompt(ui, "Supervisor badge", "Scan a supervisor's badge to open the settings")
        }
        Screen::Settings => settings(ui, frame),
    }
}

fn refused(ui: &mut Ui, interlock: &Interlock) {
    ui.add_space(10.0);
    ui.label(RichText::new(&interlock.title).size(44.0).strong().color(Color32::WHITE));
    ui.add_space(10.0);
    ui.label(RichText::new(&interlock.detail).size(24.0).color(Color32::WHITE));
    ui.add_space(16.0);
    let next = if interlock.pending.is_some() {
        "A supervisor may allow it: scan a supervisor's badge now."
    } else {
        "Nothing was recorded. Tap OK to go back."
    };
    ui.label(RichText::new(next).size(22.0).strong().color(Color32::from_rgb(0xff, 0xe0, 0xa0)));
}

fn job_card(ui: &mut Ui, frame: &Frame<'_>, view: &JobView) {
    let job = &view.job;
    let master = frame.master;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        // Nothing on the card is a control: rows need not be finger height.
        ui.spacing_mut().interact_size.y = 28.0;
        ui.spacing_mut().item_spacing.y = 6.0;
        ui.horizontal(|ui| {
            ui.label(RichText::new(job.id.as_str()).size(32.0).strong());
            ui.label(RichText::new(&job.customer_ref).size(20.0).color(MUTED));
        });
        let alloy = master
            .alloys
            .iter()
            .find(|a| a.code == job.alloy)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| job.alloy.to_string());
        let mut chips = vec![(alloy, BLUE)];
        if view.late {
            chips.push((format!("LATE: due {}", job.due.format("%d %b")), RED));
        } else {
            chips.push((format!("Due {}", job.due.format("%d %b")), MUTED));
        }
        if view.progress.held {
            chips.push(("ON HOLD".to_owned(), AMBER));
        }
        chip_rows(ui, &chips);
        ui.label(RichText::new(&job.description).size(22.0));
        // The metal at this stage comes before the route: it is what a weighing changes.
        metal(ui, frame, view);
        route(ui, master, view);
        let cad = match (&job.approved_cad, &job.latest_cad) {
            (Some(approved), Some(latest)) if approved != latest => {
                format!("CAD {} approved; {} not approved yet", approved.0, latest.0)
            }
            (Some(approved), _) => format!("CAD {} approved", approved.0),
            (None, Some(latest)) => format!("CAD {} NOT approved", latest.0),
            (None, None) => "No CAD revision".to_owned(),
        };
        ui.columns(2, |columns| {
            let (left, right) = columns.split_at_mut(1);
            // Columns lay out justified, which would also justify wrapped text: stack plainly.
            left[0].vertical(|ui| {
                ui.label(RichText::new(cad).size(18.0).color(MUTED));
                if !job.notes.is_empty() {
                    ui.label(RichText::new(format!("Notes: {}", job.notes)).size(18.0));
                }
            });
            right[0].vertical(|ui| {
                if !job.components.is_empty() {
                    ui.label(RichText::new("Stones and parts").size(18.0).strong().color(MUTED));
                    for component in &job.components {
                        ui.label(RichText::new(component_words(component)).size(18.0));
                    }
                }
            });
        });
    });
}

/// Lays chips out in rows that fit the width, each chip whole.
fn chip_rows(ui: &mut Ui, items: &[(String, Color32)]) {
    let max = ui.available_width();
    let gap = 4.0;
    let mut rows: Vec<Vec<&(String, Color32)>> = vec![Vec::new()];
    let mut used = 0.0;
    for item in items {
        let text: egui::WidgetText = RichText::new(&item.0).size(17.0).strong().into();
        let width =
            text.into_galley(
                ui,
                Some(egui::TextWrapMode::Extend),
                f32::INFINITY,
                egui::TextStyle::Button,
            )
            .size()
            .x + 16.0
                + gap;
        if used + width > max && rows.last().is_some_and(|r| !r.is_empty()) {
            rows.push(Vec::new());
            used = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push(item);
        }
        used += width;
    }
    for row in rows {
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = gap;
            for (text, color) in row {
                chip(ui, text, *color);
            }
        });
    }
}

fn chip(ui: &mut Ui, text: &str, color: Color32) {
    // A button that only senses hover: a widget of known size, so a wrapped row flows it to
    // the next line instead of cutting it off.
    let text = RichText::new(text).color(Color32::WHITE).size(17.0).strong();
    ui.scope(|ui| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        ui.spacing_mut().interact_size.y = 28.0;
        ui.spacing_mut().button_padding = Vec2::new(8.0, 3.0);
        ui.add(
            egui::Button::new(text)
                .fill(color)
                .stroke(Stroke::NONE)
                .corner_radius(CornerRadius::same(5))
                .sense(egui::Sense::hover()),
        );
    });
}

fn route(ui: &mut Ui, master: &MasterData, view: &JobView) {
    let current = view.progress.stage.as_ref();
    let position = current.and_then(|c| view.job.route.iter().position(|s| s == c));
    let chips: Vec<(String, Color32)> = view
        .job
        .route
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let name = stage_name(master, stage.as_str());
            match position {
                Some(p) if i == p && view.progress.in_progress => (format!("> {name}"), GREEN),
                Some(p) if i == p => (format!("{name} done"), BLUE),
                Some(p) if i < p => (name, Color32::from_gray(150)),
                _ => (name, Color32::from_gray(95)),
            }
        })
        .collect();
    chip_rows(ui, &chips);
}

fn metal(ui: &mut Ui, frame: &Frame<'_>, view: &JobView) {
    let Some(stage_id) = view.progress.stage.as_ref() else { return };
    let m = &view.metal;
    if m.issued == touchstone_model::metal::Grams::ZERO && !m.receipt_weighed {
        return;
    }
    let stage = stage_name(frame.master, stage_id.as_str());
    ui.label(
        RichText::new(format!(
            "Metal at {stage}: issued {}, back {}, scrap {}",
            m.issued, m.received, m.scrap
        ))
        .size(20.0)
        .strong(),
    );
    if m.receipt_weighed
        && let Some(StageLoss { assessment, band }) =
            stage_loss(view, frame.master, stage_id, m.received)
    {
        loss_lines(ui, &assessment, band.as_ref());
    }
}

fn loss_lines(
    ui: &mut Ui,
    assessment: &touchstone_model::rules::LossAssessment,
    band: Option<&touchstone_model::workshop::LossBand>,
) {
    let (color, verdict) = match assessment.verdict {
        LossVerdict::Within => (GREEN, "inside the band"),
        LossVerdict::OverWarning => (AMBER, "over the warning line"),
        LossVerdict::OverHard => (RED, "over the hard line"),
        LossVerdict::Gain => (AMBER, "heavier than issued"),
        LossVerdict::NoBand => (MUTED, "no band set"),
    };
    let band = band
        .map(|b| {
            format!(" (warn {}%, hard {}%)", b.warn_percent.normalize(), b.hard_percent.normalize())
        })
        .unwrap_or_default();
    egui::Frame::new().fill(color).corner_radius(CornerRadius::same(6)).inner_margin(8).show(
        ui,
        |ui| {
            ui.label(
                RichText::new(format!(
                    "Loss {} = {} fine = {}%: {verdict}{band}",
                    assessment.loss,
                    assessment.fine_loss,
                    assessment.percent.round_dp(2).normalize()
                ))
                .color(Color32::WHITE)
                .size(20.0)
                .strong(),
            );
        },
    );
}

fn component_words(component: &Component) -> String {
    match component {
        Component::Stone { id, shape, carat, color, clarity, lab, certificate } => {
            let cert = match (lab, certificate) {
                (Some(lab), Some(cert)) => format!(", {lab} {cert}"),
                (None, Some(cert)) => format!(", cert {cert}"),
                _ => String::new(),
            };
            format!("Stone {id}: {shape} {carat} ct {color} {clarity}{cert}")
        }
        Component::Packet { id, description, count, total_carat, .. } => {
            format!("Packet {id}: {count} x {description}, {total_carat} ct")
        }
        Component::Part { description, quantity } => format!("Part: {quantity} x {description}"),
    }
}

fn weighing(ui: &mut Ui, frame: &Frame<'_>, purpose: WeightPurpose, capturing: bool) {
    let job = frame.bench.job().map(|j| j.to_string()).unwrap_or_default();
    ui.label(RichText::new(format!("Weigh {} for {job}", purpose_words(purpose))).size(30.0));
    let (value, unit, state, color) = weight_words(frame.balance);
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(&value).font(FontId::monospace(88.0)).strong());
        ui.label(RichText::new(&unit).size(36.0).color(MUTED));
    });
    let line = if capturing {
        format!("{state}: the weight is taken as soon as the balance is stable")
    } else {
        format!("{state}: put the metal on the pan, then tap Take weight or press the pedal")
    };
    ui.label(RichText::new(line).size(20.0).color(color).strong());
    if let Some(view) = frame.bench.job_view(frame.master, frame.now)
        && purpose == WeightPurpose::Receipt
        && view.metal.issued != touchstone_model::metal::Grams::ZERO
    {
        ui.label(format!("Issued at this stage: {}", view.metal.issued));
    }
}

fn history(ui: &mut Ui, frame: &Frame<'_>) {
    ui.label(RichText::new("This bench's recent events").size(26.0).strong());
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("history").striped(true).spacing([14.0, 6.0]).show(ui, |ui| {
            for entry in frame.history {
                let event = &entry.event;
                ui.label(format!("#{}", event.seq));
                ui.label(event.recorded_at.format("%d %b %H:%M").to_string());
                ui.label(fact_words(&event.fact));
                ui.label(event.job.as_ref().map(|j| j.to_string()).unwrap_or_default());
                match entry.confirmed_at {
                    Some(_) => ui.label(RichText::new("confirmed").color(GREEN).strong()),
                    None => ui.label(RichText::new("waiting").color(AMBER).strong()),
                };
                ui.end_row();
            }
        });
        if frame.history.is_empty() {
            ui.label("Nothing recorded yet.");
        }
    });
}

/// A fact in a few words, for the history.
pub fn fact_words(fact: &Fact) -> String {
    match fact {
        Fact::SignedIn {} => "signed in".into(),
        Fact::SignedOut { .. } => "signed out".into(),
        Fact::StageStarted { stage } => format!("started {stage}"),
        Fact::StageFinished { stage } => format!("finished {stage}"),
        Fact::JobHeld { reason, .. } => format!("hold: {}", hold_words(*reason)),
        Fact::JobReleased {} => "released".into(),
        Fact::WeightRecorded(w) => format!("{} {}", purpose_words(w.purpose), w.grams),
        Fact::StoneIssued(m) => format!("issued {}", m.item_id()),
        Fact::StoneReturned(m) => format!("returned {}", m.item_id()),
        Fact::Note { text } => format!("note: {text}"),
        Fact::Override { .. } => "supervisor override".into(),
    }
}

fn settings(ui: &mut Ui, frame: &Frame<'_>) {
    ui.label(RichText::new("Settings").size(28.0).strong());
    egui::Grid::new("settings").spacing([16.0, 8.0]).show(ui, |ui| {
        let row = |ui: &mut Ui, key: &str, value: String| {
            ui.label(RichText::new(key).color(MUTED));
            ui.label(value);
            ui.end_row();
        };
        match frame.balance {
            Some(view) => {
                row(ui, "Balance", view.state.to_string());
                let id = &view.identity;
                row(
                    ui,
                    "Balance model",
                    format!(
                        "{} {} serial {}",
                        id.protocol,
                        id.model.as_deref().unwrap_or("?"),
                        id.serial.as_deref().unwrap_or("?")
                    ),
                );
                row(
                    ui,
                    "Last line",
                    view.latest
                        .as_ref()
                        .map(|r| r.raw.escape_debug().to_string())
                        .unwrap_or_default(),
                );
            }
            None => row(ui, "Balance", "none configured".into()),
        }
        row(
            ui,
            "Journal",
            format!("{} events, {} waiting to send", frame.journal.last_seq, frame.journal.backlog),
        );
        row(ui, "Journal file", crate::station::journal_path(frame.data_dir).display().to_string());
        if let Some(disk) = frame.disk {
            #[expect(clippy::cast_precision_loss, reason = "shown to one decimal")]
            let (free, total) = (disk.free as f64 / 1e9, disk.total as f64 / 1e9);
            row(ui, "Disk", format!("{free:.1} GB free of {total:.1} GB"));
        }
        let link = match frame.link {
            LinkState::Offline { reason, .. } => {
                format!("{} ({reason})", link_words(frame.link, frame.now).0)
            }
            other => link_words(other, frame.now).0,
        };
        row(ui, "Gateway link", link);
        let jobs = frame.master.jobs.len();
        let updated = frame
            .master
            .updated_at
            .map(|t| t.format("%d %b %H:%M").to_string())
            .unwrap_or_else(|| "never".into());
        row(ui, "Workshop data", format!("{jobs} jobs, updated {updated}"));
        row(ui, "Version", frame.version.to_owned());
    });
}

/// A row of big buttons; returns the index tapped.
fn button(ui: &mut Ui, text: &str, fill: Color32, width: f32) -> bool {
    let text_color = if fill == CARD { INK } else { Color32::WHITE };
    ui.add(
        egui::Button::new(RichText::new(text).color(text_color).size(22.0).strong())
            .fill(fill)
            .stroke(Stroke::new(1.5, INK))
            .corner_radius(CornerRadius::same(8))
            .min_size(Vec2::new(width, TOUCH)),
    )
    .clicked()
}

fn actions(ui: &mut Ui, frame: &Frame<'_>, taps: &mut Vec<Tap>) {
    let bench = frame.bench;
    let list = action_list(frame);
    if list.is_empty() {
        return;
    }
    let per_row = 4.min(list.len()).max(1);
    let spacing = ui.spacing().item_spacing.x;
    #[expect(clippy::cast_precision_loss, reason = "at most a handful of buttons")]
    let width =
        ((ui.available_width() - spacing * (per_row as f32 - 1.0)) / per_row as f32).max(120.0);
    let enabled = !bench.is_saving();
    ui.add_enabled_ui(enabled, |ui| {
        for row in list.chunks(per_row) {
            ui.horizontal(|ui| {
                for (label, fill, action) in row {
                    if button(ui, label, *fill, width) {
                        taps.push(Tap::Bench(*action));
                    }
                }
            });
        }
    });
}

/// The buttons the current screen offers: label, colour, action.
pub fn action_list(frame: &Frame<'_>) -> Vec<(String, Color32, Action)> {
    let bench = frame.bench;
    let mut list: Vec<(String, Color32, Action)> = Vec::new();
    let mut add = |label: &str, fill: Color32, action: Action| {
        list.push((label.to_owned(), fill, action));
    };
    match bench.screen() {
        Screen::SignIn => {}
        Screen::Ready => {
            add("History", CARD, Action::History);
            add("Settings", CARD, Action::Settings);
            add("Sign out", CARD, Action::SignOut);
        }
        Screen::Job => {
            let Some(view) = bench.job_view(frame.master, frame.now) else {
                add("Close job", CARD, Action::CloseJob);
                return list;
            };
            let station = bench.station(frame.master);
            let here = view.stage_in_progress().is_some_and(|s| station.stages.contains(s));
            if view.progress.held {
                add("Release hold", GREEN, Action::Release);
            } else if here {
                add("Weigh issue", BLUE, Action::Weigh(WeightPurpose::Issue));
                add("Weigh receipt", BLUE, Action::Weigh(WeightPurpose::Receipt));
                add("Scrap return", BLUE, Action::Weigh(WeightPurpose::ScrapReturn));
                add("Finish stage", GREEN, Action::FinishStage);
                add("Hold", AMBER, Action::Hold);
            } else {
                let label = match view.stage_to_start(&station) {
                    Some(stage) => format!("Start {}", stage_name(frame.master, stage.as_str())),
                    None => "Start".to_owned(),
                };
                add(&label, GREEN, Action::StartStage);
                add("Hold", AMBER, Action::Hold);
            }
            add("Note", CARD, Action::Note);
            add("Close job", CARD, Action::CloseJob);
        }
        Screen::Weighing { capturing, .. } => {
            if *capturing {
                add("Waiting for stable...", AMBER, Action::Capture);
            } else {
                add("Take weight", GREEN, Action::Capture);
            }
            balance_buttons(frame.balance_can, &mut add);
            add("Cancel", CARD, Action::Dismiss);
        }
        Screen::ConfirmLoss { .. } => {
            add("Confirm loss", AMBER, Action::ConfirmLoss);
            add("Cancel", CARD, Action::Dismiss);
        }
        Screen::HoldReasons => {
            for reason in &HOLD_REASONS {
                add(hold_words(*reason), AMBER, Action::HoldBecause(*reason));
            }
            add("Cancel", CARD, Action::Dismiss);
        }
        Screen::Notes => {
            for (i, note) in NOTES.iter().enumerate() {
                add(note, CARD, Action::AddNote(i));
            }
            add("Cancel", CARD, Action::Dismiss);
        }
        Screen::Refused(_) => add("OK", CARD, Action::Dismiss),
        Screen::History | Screen::SupervisorGate => add("Back", CARD, Action::Dismiss),
        Screen::Settings => {
            if frame.balance_can.identify {
                add("Ask balance identity", CARD, Action::IdentifyBalance);
            }
            if frame.balance.is_some() {
                add("Probe balance", CARD, Action::ProbeBalance);
            }
            balance_buttons(frame.balance_can, &mut add);
            add("Back", CARD, Action::Dismiss);
        }
    }
    list
}

/// Tare and zero, where the balance's family has them.
fn balance_buttons(can: BalanceCan, add: &mut impl FnMut(&str, Color32, Action)) {
    if can.tare {
        add("Tare", CARD, Action::Tare);
    }
    if can.zero {
        add("Zero", CARD, Action::Zero);
    }
}

fn demo_strip(ui: &mut Ui, demo: &Demo, taps: &mut Vec<Tap>) {
    ui.spacing_mut().interact_size.y = 40.0;
    ui.spacing_mut().item_spacing.y = 4.0;
    let small = |ui: &mut Ui, text: String| {
        ui.add(egui::Button::new(RichText::new(text).size(16.0)).min_size(Vec2::new(0.0, 40.0)))
            .clicked()
    };
    for (row, codes) in [&demo.codes.people_and_jobs, &demo.codes.stones].into_iter().enumerate() {
        let hidden = egui::scroll_area::ScrollBarVisibility::AlwaysHidden;
        egui::ScrollArea::horizontal().id_salt(("demo", row)).scroll_bar_visibility(hidden).show(
            ui,
            |ui| {
                ui.horizontal(|ui| {
                    ui.spacing_mut().interact_size.y = 40.0;
                    if row == 1 && demo.balance.is_some() {
                        // The pan first: the demo's weighing must not hide behind a scroll.
                        ui.label(RichText::new("Pan:").size(16.0).color(MUTED));
                        for grams in &demo.loads {
                            if small(ui, format!("{grams} g")) {
                                taps.push(Tap::Demo(DemoTap::Place(*grams)));
                            }
                        }
                        if small(ui, "Empty".to_owned()) {
                            taps.push(Tap::Demo(DemoTap::Remove));
                        }
                        ui.separator();
                    }
                    let title = if row == 0 { "Demo scans:" } else { "Stones:" };
                    ui.label(RichText::new(title).size(16.0).color(MUTED));
                    for (label, code) in codes {
                        if small(ui, label.clone()) {
                            taps.push(Tap::Scan(code.clone()));
                        }
                    }
                });
            },
        );
    }
}

/// The demo's codes, labelled for people.
#[derive(Debug, Clone, Default)]
pub struct DemoCodes {
    /// Badges and job envelopes.
    pub people_and_jobs: Vec<(String, String)>,
    /// Stones and packets.
    pub stones: Vec<(String, String)>,
}

/// The demo's codes for a station: two workers' and a supervisor's badges, the jobs whose
/// route passes this station, their stones, and one stone of a job that does not, to show
/// a refusal.
pub fn demo_codes(master: &MasterData, station: &touchstone_model::ids::StationId) -> DemoCodes {
    use touchstone_model::workshop::Role;
    let stages = master
        .stations
        .iter()
        .find(|s| &s.id == station)
        .map(|s| s.stages.clone())
        .unwrap_or_default();
    let first = |name: &str| name.split_whitespace().next().unwrap_or(name).to_owned();
    let mut codes = DemoCodes::default();
    let workers = master.operators.iter().filter(|o| o.active && o.role == Role::Worker);
    let supervisors = master.operators.iter().filter(|o| o.active && o.role == Role::Supervisor);
    for op in workers.rev().take(2).chain(supervisors.take(1)) {
        let role = if op.role == Role::Worker { "" } else { " (supervisor)" };
        codes
            .people_and_jobs
            .push((format!("Badge {}{role}", first(&op.name)), op.badge.as_str().to_owned()));
    }
    let passes =
        |job: &touchstone_model::workshop::Job| job.route.iter().any(|s| stages.contains(s));
    let stone = |c: &Component| match c {
        Component::Stone { id, .. } => Some(id.to_string()),
        Component::Packet { id, .. } => Some(id.to_string()),
        Component::Part { .. } => None,
    };
    for snapshot in master.jobs.values().filter(|s| passes(&s.job)) {
        let id = snapshot.job.id.to_string();
        codes.people_and_jobs.push((id.clone(), id));
        for code in snapshot.job.components.iter().filter_map(stone) {
            codes.stones.push((code.clone(), code));
        }
    }
    if let Some(code) = master
        .jobs
        .values()
        .filter(|s| !passes(&s.job))
        .find_map(|s| s.job.components.iter().find_map(stone))
    {
        codes.stones.push((format!("{code} (other job)"), code));
    }
    codes
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use touchstone_model::event::BalanceIdentity;
    use touchstone_scales::units::Unit;
    use touchstone_scales::{Reading, UnitToken};

    use super::*;

    fn view(state: ConnectionState, reading: Option<Reading>, settled: bool) -> BalanceView {
        BalanceView {
            state,
            identity: BalanceIdentity { protocol: "mt-sics".into(), model: None, serial: None },
            latest: reading,
            seq: 1,
            settled,
        }
    }

    fn reading(value: &str, stability: Option<Stability>, status: Status) -> Reading {
        Reading {
            at: Instant::now(),
            value: Some(value.into()),
            number: value.parse().ok(),
            unit: Some(UnitToken {
                raw: "g".into(),
                unit: Unit::Mass(touchstone_model::units::MassUnit::Gram),
            }),
            grams: None,
            stability,
            status,
            identity: None,
            raw: String::new(),
        }
    }

    #[test]
    fn the_weight_panel_says_why_it_has_no_weight() {
        assert_eq!(weight_words(None).2, "No balance at this bench");
        let gone = view(ConnectionState::Disconnected { reason: "unplugged".into() }, None, false);
        assert_eq!(weight_words(Some(&gone)).2, "Balance not connected");
        let garbled = view(ConnectionState::Garbled, None, false);
        assert!(weight_words(Some(&garbled)).2.contains("check its settings"));
    }

    #[test]
    fn the_weight_panel_tells_settling_from_stable() {
        let moving = view(
            ConnectionState::Connected,
            Some(reading("6.118", Some(Stability::Unstable), Status::Ok)),
            false,
        );
        assert_eq!(
            weight_words(Some(&moving)),
            ("6.118".into(), "g".into(), "Settling...".into(), AMBER)
        );
        let stable = view(
            ConnectionState::Connected,
            Some(reading("6.118", Some(Stability::Stable), Status::Ok)),
            false,
        );
        assert_eq!(weight_words(Some(&stable)).2, "Stable");
        // A family without a flag is stable only once the driver saw it hold still.
        let quiet =
            view(ConnectionState::Connected, Some(reading("6.118", None, Status::Ok)), false);
        assert_eq!(weight_words(Some(&quiet)).2, "Settling...");
        let held = view(ConnectionState::Connected, Some(reading("6.118", None, Status::Ok)), true);
        assert_eq!(weight_words(Some(&held)).2, "Stable (held still)");
        let over =
            view(ConnectionState::Connected, Some(reading("6.118", None, Status::Overload)), true);
        assert_eq!(weight_words(Some(&over)).3, RED);
    }

    #[test]
    fn the_link_and_the_disk_are_told_in_words() {
        let now = Utc::now();
        let since = now - chrono::Duration::minutes(75);
        let offline = LinkState::Offline { since, reason: "refused".into() };
        assert_eq!(link_words(&offline, now).0, "Offline 1 h 15 min");
        assert_eq!(link_words(&LinkState::Online { since }, now).0, "Online");
        let fine = DiskSpace { free: 20_000_000_000, total: 32_000_000_000 };
        assert_eq!(disk_words(Some(fine)), None);
        let low = DiskSpace { free: 2_500_000_000, total: 32_000_000_000 };
        assert_eq!(
            disk_words(Some(low)).map(|w| w.0),
            Some("Disk low: 2.5 GB left, call IT".into())
        );
    }
}
