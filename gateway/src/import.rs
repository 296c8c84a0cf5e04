//! Master data import (being written).
