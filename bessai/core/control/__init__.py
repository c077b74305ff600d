"""Control of one device: the Controller, operator commands, their events, the books and the E-stop latch."""
