# A guest touching unmapped MMIO is reported and keeps running.
boot_l2 badmmio badmmio
