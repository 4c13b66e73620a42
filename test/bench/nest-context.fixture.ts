// The memory part's second baseline: a bare Nest application context (an empty module), idle, as
// an instance's Nest application is before anything of its own: what an instance costs without
// this library and without a bot.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, fail, report } from './measurements.js';

exitWithParent();

@Module({})
class EmptyModule {}

try {
  await NestFactory.createApplicationContext(EmptyModule, { logger: false });
  // Idle like an instance between events (the context alone keeps nothing alive).
  setInterval(() => {}, 1_000);
  await report({ type: 'listening', path: '' });
} catch (error) {
  await fail(error);
}
