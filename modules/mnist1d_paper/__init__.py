"""The four networks of the mnist1d paper (Greydanus 2020), in both frameworks."""
