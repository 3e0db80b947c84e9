"""The console's screens: the main screen, the modals that ask and confirm, and the help screen."""
