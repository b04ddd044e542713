boot_l2 boot smp -c 2
