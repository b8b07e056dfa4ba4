"""Study A: backprop vs bio-inspired training of tiny autoencoders (Gobbi & Konotopska)."""
