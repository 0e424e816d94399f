"""Conditioning: G-buffer maps → the model's condition tensor, and ControlNet control frames."""
