# poweroff -> 0, reboot -> 3, panic -> 4
boot_l2 poweroff poweroff
boot_l2 reboot reboot
boot_l2 panic panic
