"""Images already made: U1–U4 (one image out of the grid), /show, ℹ️ details, 🗑️ delete, /history."""
