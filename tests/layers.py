#!/usr/bin/env python3
"""Checks who may include whom in src/ (docs/ARCHITECTURE.md, "Layers").

A module is a .c file and its .h (src/vmm/vm.c and src/vmm/vm.h are one).
Fails, naming the files, on:
- an include cycle between modules;
- a device (src/devices) that includes the VM, a vCPU or the arch door;
- neutral code (src/vmm, src/devices) that includes the device-tree builder
  (src/fdt): a device says what it is in vmm/device_desc.h, and the platform
  renders that (arm64: arch/arm64/fdt_layout.c);
- core code (src/vmm, API layer aside) that includes the API layer;
- an architecture #if in neutral code (src/vmm, src/devices).
Usage: layers.py SOURCE_ROOT"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ARCH_IF = re.compile(r'^\s*#\s*(if|ifdef|ifndef|elif).*(__aarch64__|__x86_64__)', re.M)
# The API layer (libkvmkit and its control socket) and the command above it.
API = re.compile(r'^src/vmm/(api\w*|config_file|control_socket|cli|ctl|main)$')
DEVICE_FORBIDDEN = ('src/vmm/vm', 'src/vmm/vcpu', 'src/arch/arch', 'src/vmm/kvm')
NEUTRAL = ('src/vmm/', 'src/devices/')


# The VM object: vm.h and the files that implement it, split by concern
# (its loop, its control, its vCPUs, its KVM plumbing, its devices' view of
# it, the checks of its inputs and the input files it loads into guest
# memory, its CPU state and its snapshots, which build a VM from a file,
# and a restore's working set).
# They share struct vm, so they are one module here.
VM_PARTS = {'src/vmm/' + n for n in ('vm', 'vm_control', 'vm_loop', 'vm_devices', 'vm_host', 'vm_state',
                                     'vm_inputs', 'guest_file', 'vcpu', 'kvm', 'kvm_eventfd',
                                     'stats', 'vm_cpu_state', 'vm_snapshot', 'vm_working_set')}


def module(path):
    mod = os.path.splitext(path)[0]
    return 'src/vmm/vm' if mod in VM_PARTS else mod


def scan(root):
    edges, arch_ifs = {}, []
    src = os.path.join(root, 'src')
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.relpath(os.path.join(dirpath, name), root)
            with open(os.path.join(root, path), encoding='utf-8') as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                target = 'src/' + inc
                if os.path.exists(os.path.join(root, target)):
                    edges.setdefault(module(path), set()).add((module(target), path))
            if path.startswith(NEUTRAL) and ARCH_IF.search(text):
                arch_ifs.append(path)
    return edges, arch_ifs


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, _ in edges.get(v, ()):
            if w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1]
    edges, arch_ifs = scan(root)
    problems = []
    for comp in cycles(edges):
        problems.append('include cycle between %d modules: %s' % (len(comp), ', '.join(comp)))
    for mod, targets in sorted(edges.items()):
        for target, path in sorted(targets):
            if mod.startswith('src/devices/') and target.startswith(DEVICE_FORBIDDEN):
                problems.append('%s: a device includes %s.h (use vmm/device_host.h)'
                                % (path, target[4:]))
            if mod.startswith(NEUTRAL) and target.startswith('src/fdt/'):
                problems.append('%s: neutral code includes %s.h (describe the device with '
                                'vmm/device_desc.h; the platform renders it)' % (path, target[4:]))
            if (mod.startswith('src/vmm/') and not API.match(mod) and API.match(target)):
                problems.append('%s: the core includes the API layer (%s.h)' % (path, target[4:]))
    for path in arch_ifs:
        problems.append('%s: architecture #if in neutral code (use arch/arch.h)' % path)
    for p in problems:
        print(p)
    print('%d modules, %d problems' % (len(edges), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
