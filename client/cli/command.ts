/**
 * The shape of a command module: it adds its command (name, description, options, action) to the program. Actions
 * load what they need with `await import()`; `run()` in client/cli.ts lists the modules in help order.
 */
import type { Command } from 'commander';
import type { CommandContext } from './context';

export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
