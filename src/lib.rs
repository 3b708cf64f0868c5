//! Placeholder so the workspace builds while the widget is written.
