#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vm_config_defaults(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.nr_cpus = 1,
		.mem_size = (uint64_t)VM_DEFAULT_MEM_MIB << 20,
		.console_stdio = true,
		.console_buffer = VM_DEFAULT_CONSOLE_BUFFER,
		.stop_timeout_sec = VM_DEFAULT_STOP_TIMEOUT_SEC,
	};
}

int parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long value;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || value < min || value > max)
		return -ERANGE;
	*out = value;
	return 0;
}

int parse_mem_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long value;
	unsigned shift = 20; /* plain numbers are MiB */

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return -EINVAL;
	if (*end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
		if (*end != '\0' && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0)
			return -EINVAL;
	}
	if (value == 0 || value > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)value << shift;
	return 0;
}
