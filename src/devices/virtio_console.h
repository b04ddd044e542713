/* virtio-console: one port (hvc0 in Linux), the fast guest console. Its
 * output goes to the VM's console (stdout, --console-log, --expect, panic
 * detection) like the UART's; it takes the keyboard input over from the UART. */
#ifndef KVMKIT_VIRTIO_CONSOLE_H
#define KVMKIT_VIRTIO_CONSOLE_H

struct device_host;
struct virtio_dev;

int virtio_console_create(struct device_host *host, struct virtio_dev **out);

#endif
