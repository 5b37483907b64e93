/* long clone3_vm_call(struct clone_args *args, size_t size,
 *                     int (*fn)(void *), void *arg)
 *
 * clone3() whose child runs fn(arg) on the stack given in args and then
 * exits with fn's return value. C cannot express this: a CLONE_VM child
 * shares the parent's memory and must never return through the parent's
 * stack frames. Returns what clone3 returns in the parent (pid or -errno). */
#if defined(__x86_64__)
	.text
	.globl	clone3_vm_call
	.hidden	clone3_vm_call
	.type	clone3_vm_call, @function
clone3_vm_call:
	.cfi_startproc
	/* fn and arg survive the syscall in r8/r9 (it clobbers rcx and r11). */
	mov	%rdx, %r8
	mov	%rcx, %r9
	mov	$435, %eax		/* __NR_clone3 */
	syscall
	test	%rax, %rax
	jz	1f
	ret				/* parent: pid, or -errno */
1:
	/* child, on the new stack (16-byte aligned by the caller) */
	.cfi_undefined rip
	xor	%ebp, %ebp
	mov	%r9, %rdi
	call	*%r8
	mov	%eax, %edi
	mov	$60, %eax		/* __NR_exit */
	syscall
	hlt
	.cfi_endproc
	.size	clone3_vm_call, .-clone3_vm_call
#endif
	.section .note.GNU-stack,"",@progbits
