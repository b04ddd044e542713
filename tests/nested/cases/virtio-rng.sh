# 1 MiB of entropy through virtio-rng.
boot_l2 rng rng --rng
