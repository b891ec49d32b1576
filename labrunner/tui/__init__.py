"""The full-screen face of labrunner (Textual). It only shows and asks: every action
is a Session method underneath, run in a thread worker that posts messages back."""
