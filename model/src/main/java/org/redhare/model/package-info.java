package org.redhare.model;
