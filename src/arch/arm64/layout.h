/* Guest physical layout on arm64: devices below 1 GiB, RAM from 1 GiB. */
#ifndef KVMKIT_ARM64_LAYOUT_H
#define KVMKIT_ARM64_LAYOUT_H

#define ARM64_GIC_DIST_BASE 0x08000000ULL
#define ARM64_GICV3_DIST_SIZE 0x10000ULL
#define ARM64_GICV3_REDIST_BASE 0x080a0000ULL
#define ARM64_GICV3_REDIST_SIZE 0x20000ULL /* per vCPU */
#define ARM64_GICV2_DIST_SIZE 0x1000ULL
#define ARM64_GICV2_CPU_BASE 0x08010000ULL
#define ARM64_GICV2_CPU_SIZE 0x2000ULL
#define ARM64_GICV2_MAX_CPUS 8

#define ARM64_UART_BASE 0x09000000ULL
#define ARM64_UART_SPI 1
#define ARM64_RTC_BASE 0x09010000ULL
#define ARM64_RTC_SPI 2
#define ARM64_GPIO_BASE 0x09030000ULL /* PL061 with the power key */
#define ARM64_GPIO_SPI 7
/* The GPIO line the power key is on, as on QEMU's virt machine. */
#define ARM64_POWER_KEY_PIN 3

/* The VM generation ID's page (devices/vmgenid.h), guest memory. */
#define ARM64_VMGENID_BASE 0x09040000ULL
#define ARM64_VMGENID_SPI 3

#define ARM64_VIRTIO_MMIO_BASE 0x0a000000ULL
#define ARM64_VIRTIO_MMIO_SIZE 0x200ULL
#define ARM64_VIRTIO_MMIO_SLOTS 32
#define ARM64_VIRTIO_SPI_BASE 16

#define ARM64_RAM_BASE 0x40000000ULL
#define ARM64_MAX_RAM (255ULL << 30) /* stays inside the default 40-bit IPA space */

/* Linux wants the DTB 8-byte aligned, below 2 MiB and inside one 2 MiB block:
 * it goes in the last 2 MiB of RAM, the initrd just below it. */
#define ARM64_FDT_MAX_SIZE 0x200000ULL
#define ARM64_KERNEL_ALIGN 0x200000ULL

/* A raw kernel (--kernel-format raw) has no header to say where it goes: it
 * is loaded at the start of RAM, where a bare-metal program linked for this
 * machine's RAM expects to be, and entered at its first byte. It may use
 * RAM up to the DTB in the last 2 MiB (and the initrd below that). */
#define ARM64_RAW_KERNEL_OFFSET 0

/* The PMU's overflow interrupt (--pmu): PPI 7, INTID 23, as on QEMU's virt. */
#define ARM64_GIC_PPI_BASE 16
#define ARM64_PMU_PPI 7

#define ARM64_GIC_NR_IRQS 128 /* SGIs + PPIs + 96 SPIs */
#define ARM64_GIC_SPI_BASE 32

#endif
